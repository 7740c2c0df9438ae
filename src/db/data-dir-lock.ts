/**
 * One server per data dir. A lock file (created with O_EXCL) holds the owner's host and pid; a
 * lock whose process is gone on this host is stale and taken over. CLI commands that only touch
 * the database (user add, setup-token) don't take it: SQLite's own locking covers them.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { BackappError } from "../util/errors.ts";

export class DataDirLockedError extends BackappError {}

interface LockInfo {
  pid: number;
  hostname: string;
  startedAt: string;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readLock(path: string): LockInfo | null {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as LockInfo;
  } catch {
    return null;
  }
}

export interface DataDirLock {
  release(): void;
}

export function lockDataDir(dataDir: string): DataDirLock {
  const path = join(dataDir, "server.lock");
  const info: LockInfo = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, JSON.stringify(info));
      closeSync(fd);
      return {
        release() {
          const current = readLock(path);
          if (current?.pid === process.pid) unlinkSync(path);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = readLock(path);
      const stale = holder !== null && holder.hostname === info.hostname && !processAlive(holder.pid);
      if (!stale && holder !== null) {
        throw new DataDirLockedError(
          `another backapp server (pid ${holder.pid} on ${holder.hostname}, since ${holder.startedAt}) is using ${dataDir}; stop it first or choose another --data-dir`,
        );
      }
      // Stale, or unreadable (a crash between create and write): remove and retry.
      try {
        unlinkSync(path);
      } catch {}
    }
  }
  throw new DataDirLockedError(`could not lock ${dataDir}: the lock file keeps changing`);
}
