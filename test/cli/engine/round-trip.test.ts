/**
 * backup → snapshots → restore → compare, through the CLI, on a local folder and on s3rver:
 * contents byte for byte, modes, mtimes, symlinks, unicode and spaces in names, empty files and
 * folders; the JSON contracts; snapshot references; ls, dump and diff; no plaintext in the store.
 */
import { readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startS3rver, type TestS3 } from "../../helpers/s3rver.ts";
import { tempDir } from "../../helpers/temp.ts";
import {
  backapp,
  backupJson,
  expectSameTree,
  localRepo,
  makeTree,
  observeTree,
  randomBytesSeeded,
  repoObjects,
  SUMMARY_KEYS,
  s3Repo,
  type TestRepo,
} from "./fixtures.ts";

let s3: TestS3;
const dir = tempDir("backapp-cli-rt-");
// Restores and repositories live apart from the sources: the snapshot records the real metadata of
// every ancestor folder, so writing next to a source would change its parent's mtime.
const out = tempDir("backapp-cli-rt-out-");
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3.stop();
  dir.cleanup();
  out.cleanup();
});

const MARKER = "PLAINTEXT-MARKER-7f3a9c";
const OLD = new Date("2001-02-03T04:05:06.789Z");

function sourceTree(root: string): void {
  makeTree(root, {
    "hello.txt": "hello, world\n",
    "empty-file": "",
    "empty dir": { dir: true },
    "nested/empty/deeper": { dir: true },
    "with spaces/a file.txt": "spaces\n",
    "unicode/héllo wörld ✓.txt": "unicode content ✓\n",
    "unicode/日本語/ファイル": "japanese\n",
    "secret/notes.txt": `${MARKER} ${"compressible line\n".repeat(50)}`,
    [`secret/${MARKER}-name.bin`]: randomBytesSeeded(40_000, 7),
    "bin/run.sh": { content: "#!/bin/sh\necho hi\n", mode: 0o755 },
    "private/key": { content: "k", mode: 0o600, mtime: OLD },
    private: { dir: true, mode: 0o700 },
    "big/random.bin": randomBytesSeeded(3 * 1024 * 1024 + 17, 42),
    "links/relative": { symlink: "../hello.txt" },
    "links/absolute": { symlink: "/etc/hostname" },
    "links/dangling": { symlink: "does/not/exist" },
  });
  // Directory mtimes last, after their contents exist.
  utimesSync(join(root, "empty dir"), OLD, OLD);
}

const kinds: ["local" | "s3", () => TestRepo][] = [
  ["local", () => localRepo(join(out.path, "local"))],
  ["s3", () => s3Repo(s3)],
];

describe.each(kinds)("round trip on %s", (kind, make) => {
  let repo: TestRepo;
  const src = join(dir.path, `src-${kind}`);
  const ids: string[] = [];

  beforeAll(async () => {
    repo = make();
    sourceTree(src);
    expect((await backapp(repo, ["init"])).code).toBe(0);
  });

  it("backup --json ends with the summary line, exactly the contract's fields", async () => {
    const r = await backupJson(repo, ["--tag", "first", "--tag", "cli", src]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(Object.keys(r.summary)).toEqual(SUMMARY_KEYS);
    expect(r.summary).toMatchObject({
      type: "summary",
      files_new: 10,
      files_changed: 0,
      files_unmodified: 0,
      errors: [],
    });
    expect(r.summary.snapshot_id).toMatch(/^[0-9a-f]{64}$/);
    expect(r.summary.bytes_processed).toBeGreaterThan(3 * 1024 * 1024);
    expect(r.summary.bytes_added).toBeGreaterThanOrEqual(r.summary.bytes_processed);
    expect(r.summary.bytes_stored).toBeGreaterThan(0);
    expect(r.lines[0]).toMatchObject({ type: "start", operation: "backup" });
    for (const l of r.lines.slice(0, -1)) expect(["start", "scan", "progress", "notice"]).toContain(l.type);
    ids.push(r.summary.snapshot_id);
  });

  it("restore --verify recreates the tree exactly", async () => {
    const target = join(out.path, `restore-${kind}`);
    const r = await backapp(repo, ["restore", "latest", "--target", target, "--verify"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/restored 10 files .* 10 verified/);
    expectSameTree(join(target, src), src);
    // Rerunning skips what is already correct.
    const again = await backapp(repo, ["restore", "latest", "--target", target]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("restored 0 files");
  });

  it("restore --include restores only that sub-path", async () => {
    const target = join(out.path, `partial-${kind}`);
    const r = await backapp(repo, ["restore", ids[0]!, "--target", target, "--include", `${src}/unicode`]);
    expect(r.code).toBe(0);
    const got = observeTree(join(target, src));
    expect([...got.keys()].sort()).toEqual([
      "",
      "unicode",
      "unicode/héllo wörld ✓.txt",
      "unicode/日本語",
      "unicode/日本語/ファイル",
    ]);
  });

  it("an unchanged re-backup reads nothing and adds nothing; snapshots --json has the contract's fields", async () => {
    const r = await backupJson(repo, [src]);
    expect(r.code).toBe(0);
    expect(r.summary).toMatchObject({ files_new: 0, files_changed: 0, files_unmodified: 10 });
    // No file data; at most the trees of ancestors like /tmp, whose mtimes other programs change.
    expect(r.summary.bytes_added).toBeLessThan(4096);
    ids.push(r.summary.snapshot_id);

    const list = await backapp(repo, ["snapshots", "--json"]);
    const snaps = JSON.parse(list.stdout) as Record<string, unknown>[];
    expect(snaps.map((s) => s.id)).toEqual(ids);
    for (const s of snaps) {
      expect(Object.keys(s)).toEqual([
        "id",
        "short_id",
        "time",
        "hostname",
        "paths",
        "tags",
        "parent",
        "summary",
      ]);
      expect(s.short_id).toBe(String(s.id).slice(0, 8));
      expect(s.paths).toEqual([src]);
    }
    expect(snaps[0]).toMatchObject({ tags: ["first", "cli"], parent: null });
    expect(snaps[1]).toMatchObject({ tags: [], parent: ids[0] });
    const table = await backapp(repo, ["snapshots"]);
    expect(table.stdout).toContain(ids[0]!.slice(0, 8));
    expect(table.stdout).toContain("first,cli");
    expect(table.stdout).toContain("2 snapshots");
  });

  it("resolves SNAPSHOT as a full id, an 8+ hex prefix or latest; rejects the rest", async () => {
    const file = `${src}/hello.txt`;
    for (const ref of [ids[0]!, ids[0]!.slice(0, 8), ids[0]!.slice(0, 12), "latest"]) {
      const r = await backapp(repo, ["dump", ref, file]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("hello, world\n");
    }
    const upper = await backapp(repo, ["dump", ids[0]!.slice(0, 10).toUpperCase(), file]);
    expect(upper).toMatchObject({ code: 0, stdout: "hello, world\n" });
    // A malformed SNAPSHOT is a usage error (exit 2), named on the first line.
    const short = await backapp(repo, ["ls", ids[0]!.slice(0, 7)]);
    expect(short.code).toBe(2);
    expect(short.stderr.split("\n")[0]).toBe(
      `backapp ls: snapshot id prefix "${ids[0]!.slice(0, 7)}" is too short: give "latest", a full snapshot id or a unique prefix of at least 8 hex characters`,
    );
    for (const bad of ["zzzzzzzz", "", "Latest", `${ids[0]}0`]) {
      const r = await backapp(repo, ["ls", bad]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("is not a snapshot id");
    }
    const unknown = await backapp(repo, ["ls", "00000000"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe("backapp ls: snapshot 00000000 not found\n");
  });

  it("ls lists names, types and link targets; --json parses", async () => {
    const r = await backapp(repo, ["ls", "latest", `${src}/links`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${src}/links/relative -> ../hello.txt`);
    expect(r.stdout).toMatch(/^lrwxrwxrwx/m);
    const j = await backapp(repo, ["ls", "latest", `${src}/unicode`, "--json"]);
    const entries = JSON.parse(j.stdout) as { path: string; type: string; size: number; mtime: string }[];
    expect(entries.map((e) => e.path)).toEqual([
      `${src}/unicode`,
      `${src}/unicode/héllo wörld ✓.txt`,
      `${src}/unicode/日本語`,
      `${src}/unicode/日本語/ファイル`,
    ]);
    expect(Object.keys(entries[1]!)).toEqual(["path", "name", "type", "mode", "size", "uid", "gid", "mtime"]);
    const all = JSON.parse((await backapp(repo, ["ls", "latest", "--json"])).stdout) as { path: string }[];
    expect(all.some((e) => e.path === `${src}/private/key`)).toBe(true);
    const missing = await backapp(repo, ["ls", "latest", `${src}/nope`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("not found");
  });

  it("dump writes raw bytes of a big binary file; a folder as a tar", async () => {
    const r = await backapp(repo, ["dump", "latest", `${src}/big/random.bin`]);
    expect(r.code).toBe(0);
    // The in-process runner decodes stdout as UTF-8; compare through the same decoding.
    expect(r.stdout).toBe(Buffer.from(readFileSync(`${src}/big/random.bin`)).toString("utf8"));
    // A folder is written as a tar archive (test/cli/restic/dump-tar.test.ts extracts one).
    const folder = await backapp(repo, ["dump", "latest", `${src}/unicode`]);
    expect(folder.code).toBe(0);
    expect(folder.stdout.slice(257, 262)).toBe("ustar");
  });

  it("diff shows added, removed and changed entries", async () => {
    writeFileSync(`${src}/hello.txt`, "hello, changed world\n");
    writeFileSync(`${src}/added.txt`, "new\n");
    rmSync(`${src}/empty-file`);
    const b = await backupJson(repo, [src]);
    expect(b.summary).toMatchObject({ files_new: 1, files_changed: 1, files_unmodified: 8 });
    const r = await backapp(repo, ["diff", ids[1]!, b.summary.snapshot_id]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`+  ${src}/added.txt\n`);
    expect(r.stdout).toContain(`-  ${src}/empty-file\n`);
    expect(r.stdout).toMatch(new RegExp(`M  ${src}/hello.txt  \\(content`));
    const j = await backapp(repo, ["diff", ids[1]!, "latest", "--json"]);
    const entries = JSON.parse(j.stdout) as { path: string; kind: string; changes: string[] }[];
    expect(entries.find((e) => e.path === `${src}/added.txt`)).toEqual({
      path: `${src}/added.txt`,
      kind: "added",
      changes: [],
    });
    const none = await backapp(repo, ["diff", "latest", "latest", "--json"]);
    expect(JSON.parse(none.stdout)).toEqual([]);
  });

  it("check --read-data accepts the repository", async () => {
    const r = await backapp(repo, ["check", "--read-data"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("no errors were found");
    const subset = await backapp(repo, ["check", "--read-data-subset", "50%"]);
    expect(subset.code).toBe(0);
  });

  it("nothing in the repository contains the plaintext marker", async () => {
    const objects = await repoObjects(repo);
    expect(objects.size).toBeGreaterThan(4);
    const marker = Buffer.from(MARKER);
    for (const [name, bytes] of objects) {
      expect(Buffer.from(bytes).includes(marker), name).toBe(false);
      expect(name.includes(MARKER)).toBe(false);
    }
  });
});

describe("the plaintext search can see plaintext", () => {
  it("an unencrypted repository does contain the marker (so the search above is meaningful)", async () => {
    const repo = localRepo(join(out.path, "plain"));
    const src = join(dir.path, "plain-src");
    makeTree(src, { [`${MARKER}.txt`]: `${MARKER}\n` });
    expect((await backapp(repo, ["init", "--insecure-no-encryption"])).code).toBe(0);
    expect((await backapp(repo, ["backup", src])).code).toBe(0);
    const objects = await repoObjects(repo);
    const marker = Buffer.from(MARKER);
    expect([...objects.values()].some((b) => Buffer.from(b).includes(marker))).toBe(true);
  });
});
