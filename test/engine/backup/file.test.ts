import { randomBytes } from "node:crypto";
import { appendFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileReadError, saveFile } from "../../../src/engine/backup/file.ts";
import { Limiter } from "../../../src/engine/backup/limiter.ts";
import type { RepositoryImpl } from "../../../src/engine/repository/repository.ts";
import { memoryRepo } from "../../helpers/engine-repo.ts";
import { tempDir } from "../../helpers/temp.ts";

let tmp: { path: string; cleanup(): void };
let repo: RepositoryImpl;
beforeEach(async () => {
  tmp = tempDir();
  repo = await memoryRepo();
});
afterEach(async () => {
  await repo.close();
  tmp.cleanup();
});

const MiB = 1024 * 1024;
const ctx = () => ({ repo, signal: new AbortController().signal, onBytes: () => {} });

// Small files (by the walk's size hint) are read with synchronous calls, others through the
// thread pool: both paths must behave the same.
describe.each([
  ["thread-pool reads", undefined],
  ["synchronous reads (small size hint)", 10],
])("saveFile, %s", (_, hint) => {
  // The scanner lstat'ed these entries as regular files; by the time they are read they have
  // changed. These are the cases the archiver turns into per-file errors.
  it("reports a file that vanished after the scan", async () => {
    const err = await saveFile(ctx(), Buffer.from(join(tmp.path, "gone")), "gone", hint).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FileReadError);
    expect((err as Error).message).toBe("vanished during the backup");
  });

  it("refuses to follow a file replaced by a symlink", async () => {
    writeFileSync(join(tmp.path, "real"), "secret");
    symlinkSync(join(tmp.path, "real"), join(tmp.path, "link"));
    const err = await saveFile(ctx(), Buffer.from(join(tmp.path, "link")), "link", hint).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toBe("replaced by a symlink during the backup");
  });

  it("refuses a file replaced by a directory", async () => {
    mkdirSync(join(tmp.path, "d"));
    const err = await saveFile(ctx(), Buffer.from(join(tmp.path, "d")), "d", hint).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileReadError);
    expect((err as Error).message).toBe("no longer a regular file");
  });

  it("stores content and returns the node with the size read", async () => {
    writeFileSync(join(tmp.path, "f"), "content");
    const r = await saveFile(ctx(), Buffer.from(join(tmp.path, "f")), "f", hint);
    expect(r.node).toMatchObject({ name: "f", type: "file", size: 7 });
    expect(r.node.content).toHaveLength(1);
    expect(r.bytesAdded).toBe(7);
    expect(r.changedWhileReading).toBe(false);
  });

  it("keeps reading a file that grows while it is read, in whole reads", async () => {
    const path = join(tmp.path, "growing.log");
    writeFileSync(path, randomBytes(3 * MiB));
    let reads = 0;
    const grow = {
      ...ctx(),
      onBytes: () => {
        // After the first read, 5 MiB more are appended (a log being written during the backup).
        if (reads++ === 0) appendFileSync(path, randomBytes(5 * MiB));
      },
    };
    const r = await saveFile(grow, Buffer.from(path), "growing.log", hint);
    expect(r.node.size).toBe(8 * MiB);
    expect(r.changedWhileReading).toBe(true);
    // 1 MiB reads: about 8 of them, not one per byte past the size seen at open (which never ended).
    expect(reads).toBeLessThanOrEqual(10);
  });
});

describe("limiter", () => {
  it("admits at most n holders, in order", async () => {
    const l = new Limiter(2);
    const order: number[] = [];
    const a = await l.acquire();
    const b = await l.acquire();
    const c = l.acquire().then((r) => {
      order.push(3);
      return r;
    });
    order.push(1);
    a();
    a(); // releasing twice is harmless
    const rc = await c;
    expect(order).toEqual([1, 3]);
    b();
    rc();
    const d = await l.acquire();
    d();
  });
});
