/**
 * Repository locks ("locks/<random id>"): sealed JSON {time, hostname, pid, exclusive, username}.
 * Shared locks (backup, restore, check) coexist; an exclusive lock (prune) excludes every other.
 * A holder rewrites its lock every refreshMs; a lock is stale after staleMs without refresh, or at
 * once when it names this host and a pid that no longer exists.
 */
import { readFileSync } from "node:fs";
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
  /** What holds it ("backup", "prune"…); absent in locks written before it was recorded. */
  operation?: string;
}

export interface LockInfo extends LockRecord {
  /** Object name, "locks/<id>". */
  name: string;
  stale: boolean;
  /** The object could not be decrypted or parsed: counted as a live exclusive lock. */
  unreadable: boolean;
}

export interface LockOptions {
  clock?: Clock;
  hostname?: string;
  pid?: number;
  username?: string;
  /** Recorded in the lock so a blocked user learns what holds it ("backup", "prune"). */
  operation?: string;
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

/** The user name (from the user database, so it is known without $USER), else "uid N". */
function currentUser(): string {
  try {
    const name = userInfo().username;
    if (name) return name;
  } catch {
    // No passwd entry (a container's arbitrary uid): fall through.
  }
  return typeof process.getuid === "function" ? `uid ${process.getuid()}` : "?";
}

/**
 * Whether process `pid` of this machine still runs. A zombie (killed, not yet reaped by its
 * parent) still answers kill(pid, 0) but will never refresh or release its lock: it counts as dead.
 */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    // /proc/PID/stat: "pid (comm) state ..."; comm may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return false; // no /proc (macOS): trust kill(pid, 0)
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
  if (!r || typeof r.time !== "string" || typeof r.pid !== "number" || typeof r.exclusive !== "boolean") {
    throw new Error("malformed lock");
  }
  // Only the fields of the format, with printable fallbacks: a lock may be hostile.
  const text = (v: unknown) => (typeof v === "string" ? v : "?");
  return {
    time: r.time,
    hostname: text(r.hostname),
    pid: r.pid,
    exclusive: r.exclusive,
    username: text(r.username),
    ...(typeof r.operation === "string" ? { operation: r.operation } : {}),
  };
}

/**
 * Every lock in the repository. Locks that cannot be decrypted or parsed are reported as
 * exclusive, non-stale and unreadable; storage errors are thrown (a lock must not be misjudged
 * because one GET failed).
 */
export async function listLocks(
  backend: Backend,
  keys: MasterKeys,
  opts: LockOptions = {},
  /** A lock not to read (our own, just written: its holder is known). */
  except?: string,
): Promise<LockInfo[]> {
  const out: LockInfo[] = [];
  for await (const o of backend.list("locks/", { signal: opts.signal })) {
    if (o.name === except) continue;
    let bytes: Uint8Array;
    try {
      bytes = await backend.get(o.name, { signal: opts.signal });
    } catch (e) {
      if (e instanceof NotFoundError) continue; // released meanwhile
      throw e;
    }
    let record: LockRecord;
    try {
      record = parseLock(keys, bytes);
    } catch {
      record = { time: new Date(0).toISOString(), hostname: "?", pid: 0, exclusive: true, username: "?" };
      out.push({ ...record, name: o.name, stale: false, unreadable: true });
      continue;
    }
    out.push({ ...record, name: o.name, stale: isStale(record, opts), unreadable: false });
  }
  return out;
}

/** One line naming a lock: kind, holder, age, object name. */
export function describeLock(l: LockInfo): string {
  if (l.unreadable) return `an unreadable lock (${l.name}; counted as exclusive)`;
  const kind = l.exclusive ? "an exclusive" : "a shared";
  const what = l.operation ? ` (${l.operation})` : "";
  return `${kind} lock${what} by ${l.username || "?"}@${l.hostname} pid ${l.pid} since ${l.time} (${l.name})`;
}

function conflict(locks: LockInfo[], exclusive: boolean, own?: string): LockInfo | undefined {
  return locks.find((l) => l.name !== own && !l.stale && (exclusive || l.exclusive));
}

function lockedBy(l: LockInfo): string {
  return `repository is locked: ${describeLock(l)}`;
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
  if (before) throw new LockedError(lockedBy(before));
  const name = `locks/${toHex(random(32))}`;
  const write = () => {
    const record: LockRecord = {
      time: new Date(clock.now()).toISOString(),
      hostname: options.hostname ?? osHostname(),
      pid: options.pid ?? process.pid,
      exclusive: options.exclusive,
      username: options.username ?? currentUser(),
      ...(options.operation ? { operation: options.operation } : {}),
    };
    return backend.put(name, sealWith(keys, "lock", utf8(JSON.stringify(record))));
  };
  await write();
  // Two processes may have passed the first check at once: look again now that ours is visible.
  let after: LockInfo | undefined;
  try {
    after = conflict(await listLocks(backend, keys, options, name), options.exclusive);
  } catch (e) {
    // Not holding it after all: a lock left here would block others (for 30 minutes, as this
    // process lives on) though nobody holds it.
    await backend.delete(name).catch(() => {});
    throw e;
  }
  if (after) {
    await backend.delete(name);
    throw new LockedError(lockedBy(after));
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

/** Deletes stale locks; returns the ones deleted. */
export async function removeStaleLocks(
  backend: Backend,
  keys: MasterKeys,
  opts: LockOptions = {},
): Promise<LockInfo[]> {
  const removed: LockInfo[] = [];
  for (const l of await listLocks(backend, keys, opts)) {
    if (!l.stale) continue;
    await backend.delete(l.name, { signal: opts.signal });
    removed.push(l);
  }
  return removed;
}

/** Deletes every lock, stale or not, readable or not (`unlock --remove-all`); returns them. */
export async function removeAllLocks(
  backend: Backend,
  keys: MasterKeys,
  opts: LockOptions = {},
): Promise<LockInfo[]> {
  const locks = await listLocks(backend, keys, opts);
  for (const l of locks) await backend.delete(l.name, { signal: opts.signal });
  return locks;
}
