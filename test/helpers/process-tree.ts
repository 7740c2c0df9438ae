/**
 * The processes a server started (its `__run` children), found through /proc (Linux), and a wait
 * for them to end: after the server is SIGKILLed its children are re-parented, so a test notes
 * their pids before the kill.
 */
import { readdirSync, readFileSync } from "node:fs";
import { pidAlive } from "../../src/engine/repository/lock.ts";

/** The parent pid in /proc/PID/stat ("pid (comm) state ppid ..."; comm may hold spaces). */
function parentOf(pid: string): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return null; // ended meanwhile
  }
}

export function childPids(parent: number): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name) && parentOf(name) === parent)
    .map(Number);
}

/** Polls until `parent` has a child; resolves with the children's pids. */
export async function waitForChildren(parent: number, timeoutMs = 60_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pids = childPids(parent);
    if (pids.length > 0) return pids;
    await Bun.sleep(50);
  }
  throw new Error(`process ${parent} started no child`);
}

/** Polls until none of `pids` runs (a zombie counts as ended); throws at the deadline. */
export async function waitGone(pids: number[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!pids.some(pidAlive)) return;
    await Bun.sleep(50);
  }
  throw new Error(`still running: ${pids.filter(pidAlive).join(", ")}`);
}
