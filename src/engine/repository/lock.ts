/**
 * Repository locks ("locks/<random id>"): sealed JSON {time, hostname, pid, exclusive, username}.
 * Shared locks (backup, restore, check) coexist; an exclusive lock (prune) excludes every other.
 * A holder rewrites its lock every refreshMs; a lock is stale after staleMs without refresh, or at
 * once when it names this host and a pid that no longer exists.
 */
import { hostname as osHostname, userInfo } from "node:os";
import type { Backend } from "../../storage/backend.ts";
import { type Clock, systemClock } from "../../util/clock.ts";
import { CancelledError, LockedError, NotFoundError, throwIfAborted } from "../../util/errors.ts";
import { random, toHex, utf8 } from "../crypto/aead.ts";
import { type MasterKeys, openWith, sealWith } from "../crypto/keys.ts";

export interface LockRecord {
  time: string;
  hostname: string;
  pid: number;
  exclusive: boolean;
  username: string;
}

export interface LockInfo extends LockRecord {
  /** Object name, "locks/<id>". */
  name: string;
  stale: boolean;
}

export interface LockOptions {
  clock?: Clock;
  hostname?: string;
  pid?: number;
  username?: string;
  /** Default 2 minutes. */
  refreshMs?: number;
  /** Default 30 minutes. */
  staleMs?: number;
  /** Keep retrying a conflicting lock this long before LockedError (default 0: fail at once). */
  waitMs?: number;
  /** Between retries (default 5 s). */
  pollMs?: number;
  signal?: AbortSignal;
}

export interface HeldLock {
  readonly name: string;
  /** Rewrites the lock with the current time (done automatically every refreshMs). */
  refresh(): Promise<void>;
  /**
   * Confirms the lock object still exists (another process may have removed it as stale, after
   * which prune may delete unindexed packs) and refreshes it. LockedError when it is gone.
   */
  verify(signal?: AbortSignal): Promise<void>;
  /** Stops refreshing and deletes the lock. Idempotent. */
  release(): Promise<void>;
}

export const REFRESH_MS = 2 * 60 * 1000;
export const STALE_MS = 30 * 60 * 1000;

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "";
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function isStale(lock: LockRecord, opts: LockOptions): boolean {
  const now = (opts.clock ?? systemClock).now();
  const t = Date.parse(lock.time);
  if (Number.isNaN(t) || now - t > (opts.staleMs ?? STALE_MS)) return true;
  return lock.hostname === (opts.hostname ?? osHostname()) && lock.pid !== process.pid && !pidAlive(lock.pid);
}

function parseLock(keys: MasterKeys, bytes: Uint8Array): LockRecord {
  const r = JSON.parse(new TextDecoder().decode(openWith(keys, "lock", bytes))) as LockRecord;
  if (typeof r.time !== "string" || typeof r.pid !== "number" || typeof r.exclusive !== "boolean") {
    throw new Error("malformed lock");
  }
  return r;
}

/** Every lock in the repository. Unreadable locks are reported as exclusive, non-stale locks. */
export async function listLocks(
  backend: Backend,
  keys: MasterKeys,
  opts: LockOptions = {},
): Promise<LockInfo[]> {
  const out: LockInfo[] = [];
  for await (const o of backend.list("locks/")) {
    let record: LockRecord;
    try {
      record = parseLock(keys, await backend.get(o.name));
    } catch (e) {
      if (e instanceof NotFoundError) continue; // released meanwhile
      record = { time: new Date(0).toISOString(), hostname: "?", pid: 0, exclusive: true, username: "?" };
      out.push({ ...record, name: o.name, stale: false });
      continue;
    }
    out.push({ ...record, name: o.name, stale: isStale(record, opts) });
  }
  return out;
}

function conflict(locks: LockInfo[], exclusive: boolean, own?: string): LockInfo | undefined {
  return locks.find((l) => l.name !== own && !l.stale && (exclusive || l.exclusive));
}

function describeLock(l: LockInfo): string {
  const kind = l.exclusive ? "an exclusive" : "a shared";
  return `repository is locked: ${kind} lock by ${l.username}@${l.hostname} pid ${l.pid} since ${l.time} (${l.name})`;
}

/**
 * Takes a lock, retrying for up to options.waitMs while another holds a conflicting one; then
 * LockedError naming the holder. CancelledError when options.signal fires while waiting.
 */
export async function acquireLock(
  backend: Backend,
  keys: MasterKeys,
  options: { exclusive: boolean } & LockOptions,
): Promise<HeldLock> {
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (;;) {
    try {
      return await tryAcquire(backend, keys, options);
    } catch (e) {
      if (!(e instanceof LockedError) || Date.now() >= deadline) throw e;
    }
    const pause = Math.min(options.pollMs ?? 5000, Math.max(deadline - Date.now(), 0));
    await sleep(pause, options.signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  throwIfAborted(signal);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CancelledError("cancelled while waiting for the lock"));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

async function tryAcquire(
  backend: Backend,
  keys: MasterKeys,
  options: { exclusive: boolean } & LockOptions,
): Promise<HeldLock> {
  const clock = options.clock ?? systemClock;
  const before = conflict(await listLocks(backend, keys, options), options.exclusive);
  if (before) throw new LockedError(describeLock(before));
  const name = `locks/${toHex(random(32))}`;
  const write = () => {
    const record: LockRecord = {
      time: new Date(clock.now()).toISOString(),
      hostname: options.hostname ?? osHostname(),
      pid: options.pid ?? process.pid,
      exclusive: options.exclusive,
      username: options.username ?? currentUser(),
    };
    return backend.put(name, sealWith(keys, "lock", utf8(JSON.stringify(record))));
  };
  await write();
  // Two processes may have passed the first check at once: look again now that ours is visible.
  const after = conflict(await listLocks(backend, keys, options), options.exclusive, name);
  if (after) {
    await backend.delete(name);
    throw new LockedError(describeLock(after));
  }
  let released = false;
  const timer = setInterval(() => void write().catch(() => {}), options.refreshMs ?? REFRESH_MS);
  timer.unref?.();
  return {
    name,
    refresh: () => (released ? Promise.resolve() : write()),
    async verify(signal?: AbortSignal) {
      try {
        await backend.stat(name, { signal });
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
        throw new LockedError(`our lock ${name} was removed by another process; refusing to write`);
      }
      await write();
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await backend.delete(name);
    },
  };
}

/** Deletes stale locks; returns how many. */
export async function removeStaleLocks(backend: Backend, keys: MasterKeys, opts: LockOptions = {}) {
  let n = 0;
  for (const l of await listLocks(backend, keys, opts)) {
    if (!l.stale) continue;
    await backend.delete(l.name);
    n++;
  }
  return n;
}

/** Deletes every lock, stale or not (`unlock --remove-all`); returns how many. */
export async function removeAllLocks(backend: Backend): Promise<number> {
  const names: string[] = [];
  for await (const o of backend.list("locks/")) names.push(o.name);
  for (const name of names) await backend.delete(name);
  return names.length;
}
