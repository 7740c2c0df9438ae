import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { newMasterKeys, sealWith } from "../../../src/engine/crypto/keys.ts";
import {
  acquireLock,
  listLocks,
  pidAlive,
  removeAllLocks,
  removeStaleLocks,
} from "../../../src/engine/repository/lock.ts";
import type { Backend } from "../../../src/storage/backend.ts";
import { createMemoryBackend } from "../../../src/storage/memory.ts";
import { createManualClock } from "../../../src/util/clock.ts";
import { CancelledError, LockedError } from "../../../src/util/errors.ts";
import { init, open, snapshotInput } from "./fixtures.ts";

const keys = newMasterKeys();

function deadPid(): number {
  const r = spawnSync("true");
  return r.pid!;
}

describe("locks", () => {
  it("lets shared locks coexist and excludes an exclusive lock", async () => {
    const backend = createMemoryBackend();
    const a = await acquireLock(backend, keys, { exclusive: false });
    const b = await acquireLock(backend, keys, { exclusive: false });
    await expect(acquireLock(backend, keys, { exclusive: true })).rejects.toThrow(LockedError);
    expect(await listLocks(backend, keys)).toHaveLength(2);
    await a.release();
    await b.release();
    await b.release();
    const x = await acquireLock(backend, keys, { exclusive: true });
    const err = await acquireLock(backend, keys, { exclusive: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockedError);
    expect((err as Error).message).toMatch(/exclusive lock by .*pid \d+/);
    await x.release();
    expect(await listLocks(backend, keys)).toHaveLength(0);
  });

  it("stores locks encrypted with the fields of the format", async () => {
    const backend = createMemoryBackend();
    const held = await acquireLock(backend, keys, {
      exclusive: true,
      hostname: "marker-host-1",
      username: "u1",
    });
    const raw = Buffer.from(backend.objects.get(held.name)!);
    expect(raw.includes("marker-host")).toBe(false);
    const [info] = await listLocks(backend, keys);
    expect(info).toMatchObject({
      hostname: "marker-host-1",
      username: "u1",
      pid: process.pid,
      exclusive: true,
      stale: false,
    });
    await held.release();
  });

  it("treats a lock as stale after 30 minutes without refresh", async () => {
    const backend = createMemoryBackend();
    const clock = createManualClock(Date.parse("2026-01-01T00:00:00Z"));
    const other = { hostname: "elsewhere", pid: 1234, clock };
    const held = await acquireLock(backend, keys, { exclusive: true, ...other });
    clock.advance(29 * 60 * 1000);
    await expect(acquireLock(backend, keys, { exclusive: false, clock })).rejects.toThrow(LockedError);
    await held.refresh();
    clock.advance(29 * 60 * 1000);
    await expect(acquireLock(backend, keys, { exclusive: false, clock })).rejects.toThrow(LockedError);
    clock.advance(2 * 60 * 1000);
    const mine = await acquireLock(backend, keys, { exclusive: false, clock });
    expect(await removeStaleLocks(backend, keys, { clock })).toMatchObject([
      { hostname: "elsewhere", pid: 1234 },
    ]);
    expect(await listLocks(backend, keys, { clock })).toHaveLength(1);
    await mine.release();
  });

  it("treats a lock of this host whose process is gone as stale at once", async () => {
    const backend = createMemoryBackend();
    const pid = deadPid();
    expect(pidAlive(pid)).toBe(false);
    expect(pidAlive(process.pid)).toBe(true);
    await acquireLock(backend, keys, { exclusive: true, hostname: "this-host", pid });
    const mine = await acquireLock(backend, keys, { exclusive: true, hostname: "this-host" });
    const locks = await listLocks(backend, keys, { hostname: "this-host" });
    expect(locks.map((l) => l.stale).sort()).toEqual([false, true]);
    await mine.release();
    expect(await removeStaleLocks(backend, keys, { hostname: "this-host" })).toMatchObject([
      { pid, stale: true },
    ]);
    // Another host with the same pid number is not judged by our process table.
    await acquireLock(backend, keys, { exclusive: false, hostname: "other-host", pid });
    await expect(acquireLock(backend, keys, { exclusive: true, hostname: "this-host" })).rejects.toThrow(
      LockedError,
    );
    expect(await removeAllLocks(backend, keys)).toMatchObject([{ hostname: "other-host", pid }]);
  });

  it("counts an unreadable lock as a conflicting lock", async () => {
    const backend = createMemoryBackend();
    await backend.put("locks/garbage", new Uint8Array([1, 2, 3]));
    await expect(acquireLock(backend, keys, { exclusive: false })).rejects.toThrow(
      "repository is locked: an unreadable lock (locks/garbage; counted as exclusive)",
    );
    const [info] = await listLocks(backend, keys);
    expect(info).toMatchObject({ unreadable: true, exclusive: true, stale: false });
    expect(await removeStaleLocks(backend, keys)).toEqual([]);
    expect((await removeAllLocks(backend, keys)).map((l) => l.name)).toEqual(["locks/garbage"]);
  });

  it("reads only the format's fields of an authentic but odd lock", async () => {
    const backend = createMemoryBackend();
    const put = (name: string, record: object) =>
      backend.put(`locks/${name}`, sealWith(keys, "lock", new TextEncoder().encode(JSON.stringify(record))));
    const now = new Date().toISOString();
    await put("a", { time: now, pid: -1, exclusive: true, hostname: "this-host", extra: "x".repeat(10) });
    await put("b", { time: now, pid: 7, exclusive: false, hostname: 42 });
    const locks = await listLocks(backend, keys, { hostname: "this-host" });
    expect(locks.map(({ name, stale, hostname, username }) => ({ name, stale, hostname, username }))).toEqual(
      [
        { name: "locks/a", stale: true, hostname: "this-host", username: "?" }, // no such pid here
        { name: "locks/b", stale: false, hostname: "?", username: "?" },
      ],
    );
    expect(Object.keys(locks[0]!)).not.toContain("extra");
  });

  it("reports a storage failure while reading a lock instead of guessing", async () => {
    const backend = createMemoryBackend();
    const held = await acquireLock(backend, keys, { exclusive: false });
    // The same store, except that every GET fails.
    const failing: Backend = Object.assign(Object.create(backend) as Backend, {
      get: async () => {
        throw new Error("connection reset");
      },
    });
    await expect(listLocks(failing, keys)).rejects.toThrow("connection reset");
    await held.release();
  });

  it("counts a killed but unreaped (zombie) process as dead", async () => {
    // The shell starts a child, kills it and becomes `sleep`, which never reaps it: a zombie that
    // still answers kill(pid, 0) but will never refresh or release a lock.
    const parent = Bun.spawn(["sh", "-c", "sleep 60 & echo $!; kill -9 $!; exec sleep 60"], {
      stdout: "pipe",
    });
    try {
      const reader = parent.stdout.getReader();
      let text = "";
      while (!text.includes("\n")) text += new TextDecoder().decode((await reader.read()).value);
      const pid = Number(text.trim());
      for (let i = 0; i < 100 && !readFileSync(`/proc/${pid}/stat`, "latin1").includes(") Z "); i++) {
        await Bun.sleep(10);
      }
      expect(() => process.kill(pid, 0)).not.toThrow();
      expect(pidAlive(pid)).toBe(false);
      expect(pidAlive(parent.pid)).toBe(true);
    } finally {
      parent.kill("SIGKILL");
      await parent.exited;
    }
  });

  it("is taken by openRepository and released by close", async () => {
    const backend = createMemoryBackend();
    (await init(backend, "pw")).close();
    const shared = await open(backend, "pw");
    const shared2 = await open(backend, "pw", { lock: "shared" });
    await expect(open(backend, "pw", { lock: "exclusive" })).rejects.toThrow(LockedError);
    await shared.close();
    await shared2.close();
    const excl = await open(backend, "pw", { lock: "exclusive" });
    await expect(open(backend, "pw")).rejects.toThrow(LockedError);
    const nolock = await open(backend, "pw", { lock: "none" });
    await nolock.close();
    await excl.close();
    expect(await listLocks(backend, excl.masterKeys)).toHaveLength(0);
  });
});

describe("lock loss", () => {
  it("refuses to write an index or snapshot once another process removed our lock", async () => {
    const backend = createMemoryBackend();
    (await init(backend, "pw")).close();
    const repo = await open(backend, "pw");
    const b = new TextEncoder().encode("some data");
    await repo.saveBlob("data", repo.blobId(b), b);
    expect(await removeAllLocks(backend, repo.masterKeys)).toHaveLength(1);
    await expect(repo.flush()).rejects.toThrow(LockedError);
    await expect(repo.flush()).rejects.toThrow(/was removed/);
    expect([...backend.objects.keys()].some((n) => n.startsWith("index/"))).toBe(false);
    await expect(repo.saveSnapshot(snapshotInput("a".repeat(64)))).rejects.toThrow(LockedError);
    expect([...backend.objects.keys()].some((n) => n.startsWith("snapshots/"))).toBe(false);
    await repo.close();
  });
});

describe("waiting for a lock", () => {
  it("retries until the conflicting lock is released, or gives up after waitMs", async () => {
    const backend = createMemoryBackend();
    const shared = await acquireLock(backend, keys, { exclusive: false });
    await expect(acquireLock(backend, keys, { exclusive: true, waitMs: 60, pollMs: 20 })).rejects.toThrow(
      LockedError,
    );
    setTimeout(() => void shared.release(), 50);
    const excl = await acquireLock(backend, keys, { exclusive: true, waitMs: 5000, pollMs: 10 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    await expect(
      acquireLock(backend, keys, { exclusive: false, waitMs: 5000, pollMs: 10, signal: ac.signal }),
    ).rejects.toThrow(CancelledError);
    await excl.release();
  });
});
