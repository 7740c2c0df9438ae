/**
 * The CLI contract through the real compiled binary (the regression tests elsewhere run the CLI
 * from source): usage and exit codes, each JSON document's fields in order, the text lines
 * scripts read, byte-exact dump and restore, --stdin from a pipe, extended attributes (bun:ffi
 * inside the binary) and -v — on a local folder and on s3rver. The binary is built once per
 * commit (test/helpers/binary.ts); if it cannot be built, every test here fails.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readXattrs, writeXattr } from "../../src/engine/xattr.ts";
import { compiledBinary } from "../helpers/binary.ts";
import { type CliResult, runBackapp } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp.ts";
import { SUMMARY_KEYS } from "./engine/fixtures.ts";
import { REPO_KINDS, sh, type TestRepo, workspaces, writeFiles } from "./restic/fixtures.ts";
import { localRepo } from "./upkeep/fixtures.ts";

let binary: string;
beforeAll(() => {
  binary = compiledBinary();
}, 300_000);

const workspaceOn = workspaces();

function bin(repo: TestRepo | null, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runBackapp(args, { binary, env: { ...repo?.env, ...env } });
}

async function ok(repo: TestRepo, args: string[]): Promise<string> {
  const r = await bin(repo, args);
  expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

const keysOf = (text: string) => Object.keys(JSON.parse(text) as object);
const lastJson = (text: string) => JSON.parse(text.trim().split("\n").at(-1)!) as Record<string, unknown>;

describe("compiled binary: usage and exit codes", () => {
  it("--version, no arguments, unknown commands and flags, bad prefixes", async () => {
    const version = await bin(null, ["--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^backapp \d+\.\d+\.\d+\+[0-9a-f]{10}(-dirty)?\n$/);
    const none = await bin(null, []);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("Usage: backapp COMMAND [FLAGS]");
    const typo = await bin(null, ["bakup"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("did you mean backup?");
    const flag = await bin(null, ["backup", "--exclud", "x", "/tmp"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("unknown flag --exclud");
    const d = tempDir();
    try {
      const repo = localRepo(d.path);
      expect((await bin(repo, ["init"])).code).toBe(0);
      const again = await bin(repo, ["init"]);
      expect(again.code).toBe(1);
      expect((await bin(repo, ["ls", "abc"])).code).toBe(2);
      expect((await bin(repo, ["key", "remove", "abc"])).code).toBe(2);
      const missing = await bin(repo, ["backup", join(d.path, "nope")]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain("nothing to back up");
      const wrong = await bin(repo, ["snapshots"], { BACKAPP_PASSWORD: "wrong" });
      expect(wrong.code).toBe(1);
    } finally {
      d.cleanup();
    }
  });
});

describe.each(REPO_KINDS)("compiled binary: the CLI contract (%s)", (kind) => {
  it("backup, snapshots, ls, find, diff, restore, dump, check, forget and prune keep their outputs", async () => {
    const w = await workspaceOn(kind);
    const big = new Uint8Array(2 * 1024 * 1024 + 3).map((_, i) => (i * 7919) % 251);
    writeFiles(w.src, { "caf\u00e9 😀.txt": "unicode", "big.bin": big, "sub/a.txt": "a" });
    writeXattr(Buffer.from(join(w.src, "sub/a.txt")), "user.note", new TextEncoder().encode("x"));
    const summary = lastJson(await ok(w.repo, ["backup", "--tag", "a,b", "--json", w.src]));
    expect(Object.keys(summary)).toEqual(SUMMARY_KEYS);
    expect(summary).toMatchObject({ type: "summary", files_new: 3, errors: [] });
    const first = String(summary.snapshot_id);
    const snaps = JSON.parse(await ok(w.repo, ["snapshots", "--json"])) as Record<string, unknown>[];
    expect(Object.keys(snaps[0]!).join()).toBe("id,short_id,time,hostname,paths,tags,parent,summary");
    expect(snaps[0]).toMatchObject({
      id: first,
      short_id: first.slice(0, 8),
      tags: ["a", "b"],
      paths: [w.src],
    });
    const ls = JSON.parse(await ok(w.repo, ["ls", "latest", "--json"])) as Record<string, unknown>[];
    const file = ls.find((e) => e.path === `${w.src}/big.bin`)!;
    expect(Object.keys(file)).toEqual(["path", "name", "type", "mode", "size", "uid", "gid", "mtime"]);
    expect(file.size).toBe(big.length);
    const found = JSON.parse(await ok(w.repo, ["find", "--json", "a.txt"])) as Record<string, unknown>[];
    expect(found.map((f) => [f.snapshot, f.path])).toEqual([[first, `${w.src}/sub/a.txt`]]);
    writeFiles(w.src, { "sub/a.txt": "changed", "new.txt": "n" });
    const second = (await ok(w.repo, ["backup", "-v", w.src])).trim().split("\n");
    expect(second).toContain(`new      ${w.src}/new.txt (1 B)`);
    expect(second).toContain(`modified ${w.src}/sub/a.txt (7 B)`);
    const secondId = second.at(-1)!;
    expect(secondId).toMatch(/^[0-9a-f]{64}$/);
    const diff = JSON.parse(await ok(w.repo, ["diff", first, secondId, "--json"])) as Record<
      string,
      unknown
    >[];
    const below = diff.filter((e) => String(e.path).startsWith(`${w.src}/`));
    expect(below.map((e) => [e.path, e.kind])).toEqual([
      [`${w.src}/new.txt`, "added"],
      [`${w.src}/sub/a.txt`, "changed"],
    ]);
    const target = join(w.dir, "out");
    const restored = lastJson(await ok(w.repo, ["restore", first, "--target", target, "--json"]));
    expect(restored).toMatchObject({ type: "summary", files_restored: 3, errors: [] });
    expect(Buffer.compare(readFileSync(join(target, w.src, "big.bin")), Buffer.from(big))).toBe(0);
    expect(readFileSync(join(target, w.src, "caf\u00e9 😀.txt"), "utf8")).toBe("unicode");
    const note = readXattrs(Buffer.from(join(target, w.src, "sub/a.txt"))).find(
      (x) => x.name === "user.note",
    );
    expect(Buffer.from(note!.value).toString()).toBe("x");
    // dump of a file and of a folder (tar) through a pipe, --stdin from one.
    const vars = { SRC: w.src, X: join(w.dir, "x") };
    const piped = await sh(
      `"$0" dump latest "$SRC/big.bin" | cmp - "$SRC/big.bin" && mkdir "$X" && "$0" dump latest "$SRC/sub" | tar -xf - -C "$X" && printf 'db' | "$0" backup --stdin --stdin-filename db.sql`,
      w.repo,
      vars,
      undefined,
      [binary],
    );
    expect(piped.code, piped.stderr).toBe(0);
    expect(readFileSync(join(vars.X, w.src.slice(1), "sub/a.txt"), "utf8")).toBe("changed");
    const check = await bin(w.repo, ["check", "--read-data", "--json"]);
    expect(check.code, check.stderr).toBe(0);
    expect(keysOf(check.stdout.trim().split("\n").at(-1)!).join()).toBe(
      "type,snapshots,packs,blobs,packs_read,blobs_read,unindexed_packs,errors",
    );
    const forget = JSON.parse(await ok(w.repo, ["forget", "--keep-last", "1", "--prune", "--json"])) as {
      removed: string[];
      prune: Record<string, unknown> | null;
    };
    // Grouped by host and paths: the --stdin snapshot (/db.sql) is a group of its own.
    expect(forget.removed).toEqual([first]);
    expect(forget.prune).not.toBeNull();
    writeFileSync(join(w.dir, "pw"), "another passphrase\n");
    const added = JSON.parse(
      await ok(w.repo, ["key", "add", "--new-password-file", join(w.dir, "pw"), "--json"]),
    );
    expect(Object.keys(added)).toEqual(["added"]);
    expect(lastJson(await ok(w.repo, ["check", "--json"]))).toMatchObject({ snapshots: 2, errors: [] });
  });
});
