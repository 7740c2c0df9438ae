/**
 * Staging folders (`.backapp-restore-<pid>-<random>`) of "skip" and "keep both" restores are
 * removed by the restore that made them, also after a failure or a cancel; one whose process was
 * killed (SIGKILL, a crash, power loss) stays behind. The next restore into that target removes
 * those whose process is gone. A folder named by an older version (no pid in its name) is removed
 * when it is older than this process: no restore of this process can own it.
 */
import { readdirSync } from "node:fs";
import { lstatAt } from "./fs-ops.ts";
import type { TargetDirs } from "./target-dirs.ts";

export const STAGING_PREFIX = ".backapp-restore-";

const CURRENT = /^\.backapp-restore-(\d+)-[0-9a-f]{12}$/;
const LEGACY = /^\.backapp-restore-[0-9a-f]{12}$/;

/** True while a process with this id exists (one of another user counts: EPERM). */
function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** True for a staging folder no running restore can own. */
function stale(dirs: TargetDirs, name: string, path: Buffer, startedMs: number): boolean {
  const own = CURRENT.exec(name);
  if (own) return !alive(Number(own[1]));
  if (!LEGACY.test(name)) return false;
  const st = lstatAt(dirs, path);
  return st !== null && Number(st.mtimeMs) < startedMs;
}

/**
 * Removes stale staging folders directly in the target (never following a symlink); returns
 * their names. A folder that cannot be removed is left for the next time.
 */
export function removeStaleStaging(
  dirs: TargetDirs,
  startedMs = Date.now() - process.uptime() * 1000,
): string[] {
  const removed: string[] = [];
  for (const raw of readdirSync(dirs.dirPath(dirs.root), { encoding: "buffer" })) {
    const name = raw.toString("latin1");
    if (!name.startsWith(STAGING_PREFIX)) continue;
    const path = Buffer.concat([dirs.root, Buffer.from("/"), raw]);
    if (!stale(dirs, name, path, startedMs)) continue;
    try {
      if (lstatAt(dirs, path)?.isDirectory()) dirs.remove(path);
      removed.push(name);
    } catch {
      // in use or not ours to remove: left for the next restore
    }
  }
  return removed;
}
