/**
 * An awkward source tree through the CLI, compared byte for byte after restore, mtimes to the
 * nanosecond: names with leading dashes, backslashes, newlines, tabs, spaces at the ends, NFC and
 * NFD forms of the same word, invalid UTF-8, 255-byte names and a deep path; symlinks dangling,
 * absolute, relative, to a folder and in a loop (stored, never followed); hard links; sparse and
 * empty files; empty folders; setuid, setgid and sticky modes; times with nanoseconds and before
 * 1970. FIFOs and sockets are skipped with a notice, not an error.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, linkSync, mkdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listTree, treeDifferences } from "../../helpers/fs-tree.ts";
import { tempDir } from "../../helpers/temp.ts";
import { backapp, backupJson, localRepo, type TestRepo } from "./fixtures.ts";

const dir = tempDir("backapp-cli-odd-");
afterAll(() => dir.cleanup());

const src = join(dir.path, "src");
const bytesPath = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.flatMap((p, i) => [...(i > 0 ? [Buffer.from("/")] : []), Buffer.from(p as string)]));

/** touch(1) with a nanosecond date, not following symlinks. */
const touch = (path: string | Buffer, date: string) =>
  execFileSync("touch", ["-h", "-d", date, path.toString()]);

function buildOddTree(): void {
  mkdirSync(src);
  const names = [
    "-leading-dash",
    "--json",
    "back\\slash",
    "new\nline",
    "tab\there",
    " leading space",
    "trailing space ",
    "caf\u00e9", // NFC
    "cafe\u0301", // NFD: a different name
    "..dots",
    "...",
    "a..b",
    "😀 emoji",
    "x".repeat(255),
  ];
  for (const [i, name] of names.entries()) writeFileSync(join(src, name), `content ${i}\n`);
  writeFileSync(bytesPath(src, [0x69, 0x6e, 0x76, 0xff, 0xfe]), "invalid utf-8 name");
  let deep = join(src, "deep");
  for (let i = 0; i < 30; i++) deep = join(deep, `level-${i}-${"d".repeat(40)}`);
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, "leaf"), "deep leaf");
  mkdirSync(join(src, "empty dir"));
  mkdirSync(join(src, "links"));
  symlinkSync("/nonexistent/target", join(src, "links", "dangling"));
  symlinkSync("/etc", join(src, "links", "absolute-dir"));
  symlinkSync("../-leading-dash", join(src, "links", "relative"));
  symlinkSync("loop-b", join(src, "links", "loop-a"));
  symlinkSync("loop-a", join(src, "links", "loop-b"));
  symlinkSync("self", join(src, "links", "self"));
  writeFileSync(join(src, "hard-1"), "shared by two names");
  linkSync(join(src, "hard-1"), join(src, "hard-2"));
  writeFileSync(join(src, "sparse"), "");
  truncateSync(join(src, "sparse"), 5 * 1024 * 1024);
  writeFileSync(join(src, "empty"), "");
  writeFileSync(join(src, "setuid"), "#!/bin/sh\n");
  chmodSync(join(src, "setuid"), 0o4755);
  mkdirSync(join(src, "setgid dir"));
  chmodSync(join(src, "setgid dir"), 0o2775);
  mkdirSync(join(src, "sticky dir"));
  chmodSync(join(src, "sticky dir"), 0o1777);
  touch(join(src, "-leading-dash"), "2020-01-01 00:00:00.123456789 UTC");
  touch(join(src, "empty"), "1960-06-15 12:34:56.987654321 UTC");
  touch(join(src, "links", "dangling"), "1969-12-31 23:59:59.5 UTC");
  touch(join(src, "empty dir"), "1999-12-31 23:59:59.999999999 UTC");
  touch(join(src, "links"), "2001-01-01 00:00:00.000000001 UTC");
}

let repo: TestRepo;
let snapshot = "";
let stopSocket = () => {};

beforeAll(async () => {
  buildOddTree();
  execFileSync("mkfifo", [join(src, "fifo")]);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(join(src, "socket"), resolve));
  stopSocket = () => server.close();
  repo = localRepo(dir.path);
  expect((await backapp(repo, ["init"])).code).toBe(0);
});

describe("an awkward tree through the CLI", () => {
  it("backs up everything but the FIFO and the socket, which are notices (exit 0)", async () => {
    const r = await backupJson(repo, [src]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.summary.errors).toEqual([]);
    const notices = r.lines.filter((l) => l.type === "notice");
    expect(notices).toEqual([
      { type: "notice", path: join(src, "fifo"), message: "FIFO skipped" },
      { type: "notice", path: join(src, "socket"), message: "socket skipped" },
    ]);
    snapshot = r.summary.snapshot_id;
    // The special files are not part of what must come back.
    stopSocket();
    rmSync(join(src, "fifo"));
    rmSync(join(src, "socket"), { force: true });
  });

  it("restores it byte for byte, with modes and nanosecond mtimes of files, folders and links", async () => {
    const target = join(dir.path, "target");
    const r = await backapp(repo, ["restore", snapshot, "--target", target]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const want = listTree(src);
    const got = listTree(join(target, src));
    expect(treeDifferences(want, got)).toEqual([]);
    const exact = new Map(got.map((e) => [e.path, e.mtimeNs]));
    for (const e of want) expect([e.path, exact.get(e.path)]).toEqual([e.path, e.mtimeNs]);
    // A rerun finds everything in place.
    const again = await backapp(repo, ["restore", snapshot, "--target", target, "--verify"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(
      /^restored 0 files \(0 B\), \d+ folders, 6 symlinks; (\d+) already correct .*, \1 verified/,
    );
  });

  it("ls --json lists the odd names exactly; dump takes them as arguments", async () => {
    const ls = await backapp(repo, ["ls", snapshot, src, "--json"]);
    expect(ls.code).toBe(0);
    const entries = JSON.parse(ls.stdout) as { path: string; name: string; type: string; target?: string }[];
    const names = new Set(entries.map((e) => e.name));
    for (const n of ["new\nline", "caf\u00e9", "cafe\u0301", "inv\udcff\udcfe", "x".repeat(255), "--json"]) {
      expect(names.has(n), JSON.stringify(n)).toBe(true);
    }
    expect(entries.find((e) => e.name === "loop-a")).toMatchObject({ type: "symlink", target: "loop-b" });
    for (const name of ["-leading-dash", "new\nline", "--json"]) {
      const dump = await backapp(repo, ["dump", snapshot, join(src, name)]);
      expect(dump.code).toBe(0);
      expect(dump.stdout).toMatch(/^content \d+\n$/);
    }
  });
});
