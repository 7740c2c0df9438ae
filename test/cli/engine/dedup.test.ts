/**
 * What a backup stores, through the CLI: identical content once, a change in the middle of a big
 * file re-uploads only nearby chunks, --full re-reads without duplicating, the parent is chosen by
 * host and path set, compression modes, filters, and flag validation.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startS3rver, type TestS3 } from "../../helpers/s3rver.ts";
import { tempDir } from "../../helpers/temp.ts";
import {
  backapp,
  backupJson,
  localRepo,
  makeTree,
  randomBytesSeeded,
  s3Repo,
  type TestRepo,
} from "./fixtures.ts";

const MiB = 1024 * 1024;
let s3: TestS3;
const dir = tempDir("backapp-cli-dedup-");
const repos = tempDir("backapp-cli-dedup-repos-");
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3.stop();
  dir.cleanup();
  repos.cleanup();
});

let n = 0;
async function freshRepo(kind: "local" | "s3"): Promise<TestRepo> {
  n++;
  const repo = kind === "local" ? localRepo(join(repos.path, `r${n}`)) : s3Repo(s3);
  expect((await backapp(repo, ["init"])).code).toBe(0);
  return repo;
}

const sha = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

describe.each(["local", "s3"] as const)("on %s", (kind) => {
  it("identical files are stored once", async () => {
    const repo = await freshRepo(kind);
    const src = join(dir.path, `same-${kind}`);
    const data = randomBytesSeeded(2 * MiB + 123, 1);
    makeTree(src, { "a.bin": data, "copy/b.bin": data, "other name.bin": data });
    const r = await backupJson(repo, [src]);
    expect(r.code).toBe(0);
    expect(r.summary.files_new).toBe(3);
    expect(r.summary.bytes_processed).toBe(3 * data.length);
    expect(r.summary.bytes_added).toBeGreaterThanOrEqual(data.length);
    expect(r.summary.bytes_added).toBeLessThan(data.length + 16 * 1024);
  });

  it("a change in the middle of a big file re-uploads only nearby chunks", async () => {
    const repo = await freshRepo(kind);
    const src = join(dir.path, `middle-${kind}`);
    const data = randomBytesSeeded(16 * MiB, 2);
    makeTree(src, { "big.img": data });
    const first = await backupJson(repo, [src]);
    expect(first.summary.bytes_added).toBeGreaterThanOrEqual(16 * MiB);
    const changed = Buffer.from(data);
    changed.write("a few changed bytes in the middle", 8 * MiB);
    writeFileSync(join(src, "big.img"), changed);
    const second = await backupJson(repo, [src]);
    expect(second.code).toBe(0);
    expect(second.summary).toMatchObject({ files_changed: 1, files_new: 0, bytes_processed: 16 * MiB });
    // Chunks average 1 MiB (max 8 MiB): one or two chunks change, not the whole 16 MiB.
    expect(second.summary.bytes_added).toBeLessThan(6 * MiB);
    expect(second.summary.bytes_added).toBeGreaterThan(0);
    const dumped = await backapp(repo, ["dump", "latest", join(src, "big.img")], { process: true });
    expect(dumped.code).toBe(0);
    const restoredTarget = join(repos.path, `middle-restore-${kind}`);
    expect((await backapp(repo, ["restore", "latest", "--target", restoredTarget])).code).toBe(0);
    expect(sha(readFileSync(join(restoredTarget, src, "big.img")))).toBe(sha(changed));
  });
});

describe("incremental runs and parents", () => {
  it("--full re-reads every file but adds no data; the parent is still recorded", async () => {
    const repo = await freshRepo("local");
    const src = join(dir.path, "full");
    makeTree(src, { "a.txt": "a", "b/c.bin": randomBytesSeeded(300_000, 3) });
    const first = await backupJson(repo, [src]);
    const full = await backupJson(repo, ["--full", src]);
    // Re-read files whose content is the same count as unmodified (as restic counts them).
    expect(full.summary).toMatchObject({ files_new: 0, files_changed: 0, files_unmodified: 2 });
    expect(full.summary.bytes_processed).toBe(300_001);
    expect(full.summary.bytes_added).toBeLessThan(4096);
    const snaps = JSON.parse((await backapp(repo, ["snapshots", "--json"])).stdout) as { parent: string }[];
    expect(snaps[1]?.parent).toBe(first.summary.snapshot_id);
  });

  it("the parent is the latest snapshot with the same host and the same set of paths", async () => {
    const repo = await freshRepo("local");
    const a = join(dir.path, "par-a");
    const b = join(dir.path, "par-b");
    makeTree(a, { "x.txt": "x" });
    makeTree(b, { "y.txt": "y" });
    const ab = await backupJson(repo, ["--host", "alpha", a, b]);
    const onlyA = await backupJson(repo, ["--host", "alpha", a]);
    const other = await backupJson(repo, ["--host", "beta", b, a]);
    const again = await backupJson(repo, ["--host", "alpha", b, a]);
    expect(onlyA.summary.files_new).toBe(1); // a different path set: no parent
    expect(other.summary.files_new).toBe(2); // a different host: no parent
    expect(again.summary).toMatchObject({ files_new: 0, files_unmodified: 2 });
    const snaps = JSON.parse((await backapp(repo, ["snapshots", "--json"])).stdout) as {
      id: string;
      parent: string | null;
      hostname: string;
    }[];
    expect(snaps.map((s) => [s.hostname, s.parent])).toEqual([
      ["alpha", null],
      ["alpha", null],
      ["beta", null],
      ["alpha", ab.summary.snapshot_id],
    ]);
    expect(again.summary.snapshot_id).toBe(snaps[3]?.id);
  });

  it("--exclude and --include filter what is saved", async () => {
    const repo = await freshRepo("local");
    const src = join(dir.path, "filters");
    makeTree(src, { "keep.txt": "k", "skip.log": "s", "sub/deep.log": "d", "sub/keep.md": "m" });
    const ex = await backapp(repo, ["backup", "--exclude", "*.log", src]);
    expect(ex.code).toBe(0);
    const listed = (await backapp(repo, ["ls", "latest", src])).stdout;
    expect(listed).toContain("keep.txt");
    expect(listed).toContain("keep.md");
    expect(listed).not.toContain(".log");
    expect((await backapp(repo, ["backup", "--include", "*.md", src])).code).toBe(0);
    const inc = JSON.parse((await backapp(repo, ["ls", "latest", src, "--json"])).stdout) as {
      path: string;
    }[];
    expect(inc.map((e) => e.path)).toEqual([src, `${src}/sub`, `${src}/sub/keep.md`]);
  });

  it("--compression off stores text as is; auto and max compress it", async () => {
    const text = "the same line of text, over and over again\n".repeat(30_000);
    const src = join(dir.path, "compress");
    makeTree(src, { "text.txt": text });
    const stored: Record<string, number> = {};
    for (const mode of ["off", "auto", "max", "7"]) {
      const repo = await freshRepo("local");
      const r = await backupJson(repo, ["--compression", mode, src]);
      expect(r.code).toBe(0);
      stored[mode] = r.summary.bytes_stored;
    }
    expect(stored.off).toBeGreaterThan(text.length);
    expect(stored.auto).toBeLessThan(text.length / 20);
    expect(stored.max).toBeLessThan(text.length / 20);
    expect(stored["7"]).toBeLessThan(text.length / 20);
  });

  it("--limit-upload throttles without changing what is stored", async () => {
    const repo = await freshRepo("local");
    const src = join(dir.path, "limited");
    makeTree(src, { "f.bin": randomBytesSeeded(200_000, 9) });
    const r = await backupJson(repo, ["--limit-upload", "100000", src]);
    expect(r.code).toBe(0);
    expect(r.summary.files_new).toBe(1);
  });
});

describe("backup usage and per-file errors", () => {
  it.each([
    [["backup"], /missing PATH/],
    [["backup", "--compression", "23", "/x"], /--compression needs off, auto, max or a level/],
    [["backup", "--compression", "fast", "/x"], /--compression/],
    [["backup", "--limit-upload", "0", "/x"], /--limit-upload needs a whole number from 1/],
    [["backup", "--limit-upload", "1.5", "/x"], /--limit-upload/],
    [["backup", "--host", "", "/x"], /--host needs a non-empty name/],
    [["backup", "--tag"], /flag --tag needs a value/],
    [["backup", "--tag", " ", "/x"], /flag --tag needs a non-empty tag/],
    [["backup", "--exclude", "", "/x"], /flag --exclude needs a non-empty pattern/],
    [["backup", "--include=", "/x"], /flag --include needs a non-empty pattern/],
    [["restore", "latest"], /missing --target DIR/],
    [["restore"], /missing SNAPSHOT/],
    [["dump", "latest"], /missing FILE/],
    [["diff", "latest"], /missing SNAPSHOT/],
    [["ls", "a", "b", "c"], /unexpected argument "c"/],
  ])("%j exits 2", async (args, message) => {
    const repo = localRepo(join(repos.path, "never-created"));
    const r = await backapp(repo, args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it("unreadable and missing files are listed, the snapshot is written, exit code 3", async () => {
    const repo = await freshRepo("local");
    const src = join(dir.path, "partial");
    makeTree(src, { "fine.txt": "fine" });
    const missing = join(dir.path, "no-such-file");
    // Root reads every file, so chmod cannot make one unreadable; the kernel refuses to read
    // /proc/self/mem at offset 0 (EIO) for anyone — a real read error on a regular file.
    const r = await backupJson(repo, [src, "/proc/self/mem", missing]);
    expect(r.code).toBe(3);
    expect(r.summary.files_new).toBe(1);
    expect(r.summary.errors).toHaveLength(2);
    expect(r.summary.errors).toEqual(
      expect.arrayContaining([
        { path: missing, message: "does not exist" },
        { path: "/proc/self/mem", message: expect.stringMatching(/EIO/) },
      ]),
    );
    const snaps = JSON.parse((await backapp(repo, ["snapshots", "--json"])).stdout) as {
      id: string;
      summary: { errors: unknown[] };
    }[];
    expect(snaps.map((s) => s.id)).toEqual([r.summary.snapshot_id]);
    expect(snaps[0]?.summary.errors).toHaveLength(2);
    const plain = await backapp(repo, ["backup", src, missing]);
    expect(plain.code).toBe(3);
    expect(plain.stderr).toContain(`error: ${missing}: does not exist\n`);
    // A given path that does not exist is named as such, not as a file that could not be read.
    expect(plain.stderr).toContain(`warning: 1 given path does not exist: ${missing}\n`);
    expect(plain.stderr).not.toContain("could not be read");
    expect(plain.stdout).toMatch(/\n[0-9a-f]{64}\n$/);
  });
});
