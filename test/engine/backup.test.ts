import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { backup } from "../../src/engine/backup.ts";
import { ls } from "../../src/engine/ls.ts";
import type { RepositoryImpl } from "../../src/engine/repository/repository.ts";
import type { FileError, ProgressEvent } from "../../src/engine/types.ts";
import { CancelledError, ValidationError } from "../../src/util/errors.ts";
import { memoryRepo, spyRepo } from "../helpers/engine-repo.ts";
import { build, dir, file, link } from "../helpers/fs-tree.ts";
import { tempDir } from "../helpers/temp.ts";

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

/** The tree blob id of the backed-up folder (tmp.path) in a snapshot. */
async function subtree(snapshot: Parameters<typeof ls>[1]): Promise<string | undefined> {
  for await (const e of ls(repo, snapshot, tmp.path, { recursive: false })) return e.node.subtree;
  return undefined;
}

async function paths(snapshot: Parameters<typeof ls>[1], under = "/"): Promise<string[]> {
  const out: string[] = [];
  for await (const e of ls(repo, snapshot, under)) out.push(`${e.path}${e.node.type === "dir" ? "/" : ""}`);
  return out;
}

describe("backup", () => {
  it("maps several paths into one tree from / and records the summary", async () => {
    build(tmp.path, { a: dir({ x: dir({ f: file("1") }) }), b: file("22"), c: link("a") });
    const progress: ProgressEvent[] = [];
    const { snapshot, summary } = await backup(
      repo,
      [join(tmp.path, "b"), join(tmp.path, "a/x"), join(tmp.path, "c")],
      {
        hostname: "host1",
        username: "u",
        tags: ["t1"],
        onProgress: (e) => progress.push(e),
      },
    );
    expect(snapshot).toMatchObject({ hostname: "host1", username: "u", tags: ["t1"], parent: null });
    expect(snapshot.paths).toEqual([join(tmp.path, "a/x"), join(tmp.path, "b"), join(tmp.path, "c")]);
    const listed = await paths(snapshot, tmp.path);
    expect(listed).toEqual([
      `${tmp.path}/`,
      `${tmp.path}/a/`,
      `${tmp.path}/a/x/`,
      `${tmp.path}/a/x/f`,
      `${tmp.path}/b`,
      `${tmp.path}/c`,
    ]);
    expect(summary).toMatchObject({
      files_new: 2,
      files_changed: 0,
      files_unmodified: 0,
      bytes_processed: 3,
    });
    expect(summary.dirs).toBeGreaterThanOrEqual(4); // tmp's ancestors, tmp, a, a/x
    expect(summary.bytes_added).toBeGreaterThan(3);
    expect(summary.bytes_stored).toBeGreaterThan(0);
    expect(progress[0]).toMatchObject({ type: "start", operation: "backup" });
    const last = progress.at(-1);
    expect(last).toMatchObject({ type: "progress", files_done: 2, bytes_done: 3 });
    expect(progress.some((e) => e.type === "scan" && e.done && e.files_total === 2)).toBe(true);
    expect((await repo.listSnapshots()).map((s) => s.id)).toEqual([snapshot.id]);
  });

  it("re-reads nothing when nothing changed, and adds no data", async () => {
    build(tmp.path, { d: dir({ one: file(randomBytes(300_000)), two: file("two") }), three: file("3") });
    const first = await backup(repo, [tmp.path]);
    const spy = spyRepo(repo);
    const second = await backup(spy, [tmp.path], { parent: first.snapshot });
    expect(second.summary).toMatchObject({ files_new: 0, files_changed: 0, files_unmodified: 3 });
    expect(second.summary.bytes_processed).toBe(first.summary.bytes_processed);
    expect(spy.addedData).toBe(0);
    // The backed-up folder's tree is the same blob; the trees above it (/tmp…) may differ, as
    // other tests running beside this one change /tmp's mtime, and only those may be added.
    expect(await subtree(first.snapshot)).toMatch(/^[0-9a-f]{64}$/);
    expect(await subtree(second.snapshot)).toBe(await subtree(first.snapshot));
    expect(second.snapshot.parent).toBe(first.snapshot.id);
  });

  it("re-reads everything with full, counting same content as unmodified", async () => {
    build(tmp.path, { one: file("one"), two: file("two") });
    const first = await backup(repo, [tmp.path]);
    const spy = spyRepo(repo);
    const again = await backup(spy, [tmp.path], { parent: first.snapshot, full: true });
    expect(again.summary).toMatchObject({ files_changed: 0, files_unmodified: 2 });
    expect(spy.addedData).toBe(0);
    expect(await subtree(again.snapshot)).toBe(await subtree(first.snapshot));
    writeFileSync(join(tmp.path, "two"), "2");
    const third = await backup(repo, [tmp.path], { parent: again.snapshot });
    expect(third.summary).toMatchObject({ files_new: 0, files_changed: 1, files_unmodified: 1 });
  });

  it("uploads only the chunks near a change in a big file", async () => {
    const big = new Uint8Array(randomBytes(4 * 1024 * 1024));
    build(tmp.path, { big: file(big) });
    const first = await backup(repo, [tmp.path]);
    const edited = Buffer.concat([
      big.subarray(0, 2_000_000),
      Buffer.from("a small edit"),
      big.subarray(2_000_000),
    ]);
    writeFileSync(join(tmp.path, "big"), edited);
    const second = await backup(repo, [tmp.path], { parent: first.snapshot });
    expect(second.summary.files_changed).toBe(1);
    expect(second.summary.bytes_processed).toBe(edited.length);
    // chunks average 64 KiB here: at most a few of them are new
    expect(second.summary.bytes_added).toBeLessThan(600 * 1024);
    expect(second.summary.bytes_added).toBeGreaterThan(0);
  });

  it("stores identical files once", async () => {
    const data = randomBytes(500_000);
    build(tmp.path, { a: file(data), b: file(data), sub: dir({ c: file(data) }) });
    const { summary } = await backup(repo, [tmp.path]);
    expect(summary.files_new).toBe(3);
    expect(summary.bytes_processed).toBe(1_500_000);
    expect(summary.bytes_added).toBeGreaterThanOrEqual(500_000);
    expect(summary.bytes_added).toBeLessThan(510_000); // one copy plus small trees
    build(join(tmp.path, "copy"), { d: file(data) });
    const again = spyRepo(repo);
    await backup(again, [join(tmp.path, "copy")]);
    expect(again.addedData).toBe(0);
  });

  it("applies excludes and includes", async () => {
    build(tmp.path, {
      src: dir({ "a.ts": file("a"), "a.o": file("o"), build: dir({ "x.ts": file("x") }) }),
      docs: dir({ "r.md": file("r"), "i.png": file("p") }),
      node_modules: dir({ "m.md": file("m") }),
    });
    const ex = await backup(repo, [tmp.path], { excludes: ["*.o", "build/", "/node_modules"] });
    expect(await paths(ex.snapshot, tmp.path)).toEqual([
      `${tmp.path}/`,
      `${tmp.path}/docs/`,
      `${tmp.path}/docs/i.png`,
      `${tmp.path}/docs/r.md`,
      `${tmp.path}/src/`,
      `${tmp.path}/src/a.ts`,
    ]);
    const inc = await backup(repo, [tmp.path], { includes: ["*.md"], excludes: ["node_modules"] });
    expect(await paths(inc.snapshot, tmp.path)).toEqual([
      `${tmp.path}/`,
      `${tmp.path}/docs/`,
      `${tmp.path}/docs/r.md`,
    ]);
    await expect(backup(repo, [tmp.path], { excludes: [""] })).rejects.toThrow(ValidationError);
  });

  it("records an unreadable file as an error and still writes the snapshot", async () => {
    // Tests run as root, so permissions do not stop reads; /proc/self/mem does (EIO at offset 0).
    build(tmp.path, { kept: file("kept") });
    const seen: FileError[] = [];
    const { snapshot, summary } = await backup(repo, ["/proc/self/mem", tmp.path], {
      onError: (e) => seen.push(e),
    });
    expect(summary.errors.map((e) => e.path)).toEqual(["/proc/self/mem"]);
    expect(summary.errors[0]!.message).toMatch(/EIO|input\/output/i);
    expect(seen).toEqual(summary.errors);
    expect(summary.files_new).toBe(1);
    expect(await paths(snapshot, tmp.path)).toEqual([`${tmp.path}/`, `${tmp.path}/kept`]);
    expect((await repo.findSnapshot("latest")).id).toBe(snapshot.id);
  });

  it("reports special files as notices, not errors", async () => {
    mkdirSync(join(tmp.path, "d"));
    spawnSync("mkfifo", [join(tmp.path, "d", "pipe")]);
    const notices: FileError[] = [];
    const r = await backup(repo, [tmp.path], { onNotice: (n) => notices.push(n) });
    expect(r.summary.errors).toEqual([]);
    expect(r.notices).toEqual([{ path: join(tmp.path, "d", "pipe"), message: "FIFO skipped" }]);
    expect(notices).toEqual(r.notices);
  });

  it("notes a file whose size changed while it was read, keeping what was read", async () => {
    // /proc files stat as 0 bytes and read as more: the same situation as a file growing mid-read.
    const r = await backup(repo, ["/proc/self/status"]);
    expect(r.summary.errors).toEqual([]);
    expect(r.notices).toEqual([{ path: "/proc/self/status", message: "changed while being read" }]);
    const entries: number[] = [];
    for await (const e of ls(repo, r.snapshot, "/proc/self/status")) entries.push(e.node.size);
    expect(entries[0]).toBeGreaterThan(0);
  });

  it("throws CancelledError and writes no snapshot when cancelled", async () => {
    build(tmp.path, { a: file(randomBytes(2_000_000)), b: file(randomBytes(2_000_000)) });
    const ac = new AbortController();
    const run = backup(repo, [tmp.path], {
      signal: ac.signal,
      progressIntervalMs: 1,
      onProgress: (e) => {
        if (e.type === "progress" && e.bytes_done > 0) ac.abort();
      },
    });
    await expect(run).rejects.toThrow(CancelledError);
    expect(await repo.listSnapshots()).toEqual([]);
    const pre = new AbortController();
    pre.abort();
    await expect(backup(repo, [tmp.path], { signal: pre.signal })).rejects.toThrow(CancelledError);
  });

  it("falls back to reading when the parent tree cannot be loaded", async () => {
    build(tmp.path, { a: file("a") });
    const first = await backup(repo, [tmp.path]);
    const broken = { ...first.snapshot, tree: "0".repeat(64) };
    const spy = spyRepo(repo);
    const second = await backup(spy, [tmp.path], { parent: broken });
    expect(second.summary).toMatchObject({ files_new: 1, files_unmodified: 0 });
    expect(spy.addedData).toBe(0);
  });
});
