/**
 * Hostile repository content, through the CLI: a truncated pack, a pack whose header is garbage, an
 * index entry pointing past its pack's end, an index file that is valid JSON of the wrong shape, a
 * key object with absurd scrypt parameters, a config of an unknown version and a snapshot whose
 * tree is missing. Each gives a one-line error naming the object (exit 1), never a hang, a stack
 * trace or a huge allocation. Every case tampers with its own copy of one small repository.
 */
import { createHash } from "node:crypto";
import { cpSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sealWith } from "../../../src/engine/crypto/keys.ts";
import { decodeIndex, encodeIndex } from "../../../src/engine/repository/index-file.ts";
import { openRepository } from "../../../src/engine/repository/open.ts";
import { createLocalBackend } from "../../../src/storage/local.ts";
import { tempDir } from "../../helpers/temp.ts";
import { backapp, localRepo, makeTree, PASSWORD, randomBytesSeeded, type TestRepo } from "./fixtures.ts";

const dir = tempDir("backapp-cli-chaos-hostile-");
const src = join(dir.path, "src");
let base: TestRepo;
let copies = 0;

beforeAll(async () => {
  makeTree(src, { "big.bin": randomBytesSeeded(700_000, 3), "a.txt": "alpha\n", "sub/b.txt": "beta\n" });
  base = localRepo(join(dir.path, "base"));
  expect((await backapp(base, ["init"])).code).toBe(0);
  expect((await backapp(base, ["backup", src])).code).toBe(0);
});
afterAll(() => dir.cleanup());

/** A fresh copy of the base repository to damage. */
function copy(): TestRepo {
  copies++;
  const repo = localRepo(join(dir.path, `copy-${copies}`));
  cpSync(base.address, repo.address, { recursive: true });
  return repo;
}

/** Stored objects under `prefix` (e.g. "data/"), as [name, path], biggest first. */
function objects(repo: TestRepo, prefix: string): [string, string][] {
  const root = join(repo.address, prefix);
  const out: [string, string][] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const r = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else if (!e.name.startsWith(".tmp-")) out.push([`${prefix}${r}`, join(root, r)]);
    }
  };
  walk("");
  return out.sort((a, b) => readFileSync(b[1]).length - readFileSync(a[1]).length);
}

/** Stores `bytes` under their content-hash name in `prefix` ("index/", "keys/"); returns the name. */
function putHashed(repo: TestRepo, prefix: string, bytes: Uint8Array): string {
  const name = `${prefix}${createHash("sha256").update(bytes).digest("hex")}`;
  writeFileSync(join(repo.address, name), bytes);
  return name;
}

/** A one-line error (plus nothing else) naming `object`, and exit 1. */
function expectOneLine(r: { code: number; stderr: string }, pattern: RegExp): void {
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

describe("hostile repository content", () => {
  it("a truncated pack: check names it, restore fails naming it, the rest of the repository stays readable", async () => {
    const repo = copy();
    const [name, path] = objects(repo, "data/")[0]!;
    truncateSync(path, readFileSync(path).length - 1000);
    const check = await backapp(repo, ["check"]);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(`damaged: ${name}: pack size`);
    const read = await backapp(repo, ["check", "--read-data"]);
    expect(read.code).toBe(1);
    expect(read.stdout).toContain(`damaged: ${name}:`);
    const target = join(dir.path, "restore-truncated");
    const restore = await backapp(repo, ["restore", "latest", "--target", target]);
    // Blobs cut off fail their files, naming the pack; the others restore.
    expect(restore.code).toBe(1);
    expect(restore.stderr).toContain(`big.bin: pack ${name.slice(-64)} ends before blobs it should hold`);
    expect(restore.stderr).toMatch(/could not be restored\n$/);
    // Which small files share the cut-off tail depends on the order blobs were packed in.
    const lines = restore.stderr.trim().split("\n");
    for (const l of lines.slice(0, -1))
      expect(l).toMatch(new RegExp(`^error: ${src}/.*: pack ${name.slice(-64)} ends before`));
  });

  it("a pack whose header and trailer are garbage: check --read-data names it; --rebuild-index refuses to adopt it", async () => {
    const repo = copy();
    const [name, path] = objects(repo, "data/")[0]!;
    const bytes = readFileSync(path);
    bytes.fill(0x41, bytes.length - 200);
    writeFileSync(path, bytes);
    const read = await backapp(repo, ["check", "--read-data"]);
    expect(read.code).toBe(1);
    expect(read.stdout).toMatch(new RegExp(`damaged: ${name}: .*(header|magic)`));
    // The same pack, unindexed: rebuilding the index names it instead of adopting garbage.
    for (const [index] of objects(repo, "index/")) rmSync(join(repo.address, index));
    const rebuild = await backapp(repo, ["check", "--rebuild-index"]);
    expect(rebuild.code).toBe(1);
    expect(rebuild.stdout).toContain(name);
  });

  it("an index entry pointing past its pack's end: named by check, restore fails cleanly without a huge read", async () => {
    const repo = copy();
    const engine = await openRepository(createLocalBackend(repo.address), PASSWORD, {
      lock: "none",
      workers: 0,
    });
    const keys = engine.masterKeys;
    await engine.close();
    const [indexName, indexPath] = objects(repo, "index/")[0]!;
    const index = decodeIndex(readFileSync(indexPath), keys);
    const pack = index.packs.find((p) => p.entries.some((e) => e.type === "data" && e.length > 100_000))!;
    const entry = pack.entries.find((e) => e.type === "data" && e.length > 100_000)!;
    entry.length = 0xffff_fff0; // 4 GiB: far past the end of a pack of a few hundred KiB
    rmSync(indexPath);
    const bad = putHashed(repo, "index/", encodeIndex(index, keys));
    expect(bad).not.toBe(indexName);
    const check = await backapp(repo, ["check"]);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(`damaged: ${bad}:`);
    expect(check.stdout).toMatch(/past the end of pack/);
    const target = join(dir.path, "restore-past-end");
    const restore = await backapp(repo, ["restore", "latest", "--target", target]);
    expect(restore.code).toBe(1);
    expect(restore.stderr).not.toMatch(/\n\s+at /);
  });

  it("an index file that is valid JSON of the wrong shape is named by check and ignored by the rest", async () => {
    const repo = copy();
    const bad = putHashed(repo, "index/", new TextEncoder().encode('{"packs":[{"id":"x","blobs":[]}]}\n'));
    const check = await backapp(repo, ["check"]);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(`damaged: ${bad}:`);
    expect((await backapp(repo, ["snapshots"])).code).toBe(0);
    const target = join(dir.path, "restore-json-index");
    expect((await backapp(repo, ["restore", "latest", "--target", target])).code).toBe(0);
    expect(readFileSync(join(target, src, "sub/b.txt"), "utf8")).toBe("beta\n");
  });

  it.each([
    ["N = 2^40", { N: 2 ** 40, r: 8, p: 1 }],
    ["N = 2^24, r = 64 (128 GiB)", { N: 2 ** 24, r: 64, p: 1 }],
    ["p = 2^30", { N: 1024, r: 8, p: 2 ** 30 }],
    ["N a string", { N: "32768", r: 8, p: 1 }],
    ["p a fraction", { N: 1024, r: 8, p: 1.5 }],
  ])(
    "a key object with absurd scrypt parameters (%s) is refused before deriving, naming it",
    async (_, params) => {
      const repo = copy();
      const [, keyPath] = objects(repo, "keys/")[0]!;
      const key = JSON.parse(readFileSync(keyPath, "utf8")) as Record<string, unknown>;
      rmSync(keyPath);
      const bad = putHashed(repo, "keys/", new TextEncoder().encode(JSON.stringify({ ...key, ...params })));
      const r = await backapp(repo, ["snapshots"]);
      expectOneLine(
        r,
        new RegExp(
          `^backapp snapshots: wrong password or no key found \\(${bad}: unsupported scrypt parameters`,
        ),
      );
      expect(r.stderr.split("\n")).toHaveLength(2);
    },
  );

  it("a config of an unknown format, or whose sealed payload has an unknown version, is refused", async () => {
    const repo = copy();
    const configPath = join(repo.address, "config");
    const env = JSON.parse(readFileSync(configPath, "utf8")) as Record<string, unknown>;
    writeFileSync(configPath, JSON.stringify({ ...env, format: 2 }));
    const r = await backapp(repo, ["snapshots"]);
    expectOneLine(r, /^backapp snapshots: .*repository format 2 is not supported/);
    writeFileSync(configPath, JSON.stringify({ ...env, format: "1" }));
    expectOneLine(await backapp(repo, ["check"]), /^backapp check: config/);
    writeFileSync(configPath, "[1,2,3]");
    expectOneLine(await backapp(repo, ["check"]), /^backapp check: config/);
    // The sealed payload says version 3: authenticated, so written by a newer backapp.
    writeFileSync(configPath, JSON.stringify(env));
    const engine = await openRepository(createLocalBackend(repo.address), PASSWORD, {
      lock: "none",
      workers: 0,
    });
    const inner = { ...engine.config, version: 3 };
    const data = Buffer.from(
      sealWith(engine.masterKeys, "config", new TextEncoder().encode(JSON.stringify(inner))),
    );
    await engine.close();
    writeFileSync(configPath, JSON.stringify({ ...env, data: data.toString("base64") }));
    expectOneLine(
      await backapp(repo, ["snapshots"]),
      /^backapp snapshots: config: repository config version 3 is not supported \(this build reads 1 and 2\)\n$/,
    );
  });

  it.each([
    ["no summary", { hostname: "h", username: "u", program_version: "x" }],
    ["fields of the wrong type", { hostname: 5, username: null, paths: [5, {}], tags: [null], summary: "x" }],
    [
      "a summary of strings",
      { hostname: "h", username: "u", program_version: "x", summary: { files_new: "1" } },
    ],
  ])(
    "a snapshot with %s is named by check and skipped with a warning by snapshots and forget",
    async (_, fields) => {
      const repo = copy();
      const engine = await openRepository(createLocalBackend(repo.address), PASSWORD, {
        lock: "none",
        workers: 0,
      });
      const [good] = await engine.listSnapshots();
      const keys = engine.masterKeys;
      await engine.close();
      const json = {
        time: "2026-01-01T00:00:00.000Z",
        tree: good!.tree,
        paths: ["/x"],
        tags: [],
        parent: null,
        ...fields,
      };
      const bad = putHashed(
        repo,
        "snapshots/",
        sealWith(keys, "snapshot", new TextEncoder().encode(JSON.stringify(json))),
      );
      const check = await backapp(repo, ["check"]);
      expect(check.code).toBe(1);
      expect(check.stdout).toMatch(new RegExp(`damaged: ${bad}: .*malformed snapshot`));
      const list = await backapp(repo, ["snapshots", "--json"]);
      expect(list.code).toBe(0);
      expect((JSON.parse(list.stdout) as { id: string }[]).map((s) => s.id)).toEqual([good!.id]);
      expect(list.stderr).toContain(bad.slice("snapshots/".length, "snapshots/".length + 8));
      const forget = await backapp(repo, ["forget", "--keep-last", "1", "--dry-run"]);
      expect(forget.code).toBe(0);
      expect(forget.stderr).not.toMatch(/\n\s+at /);
    },
  );

  it("a snapshot whose tree is missing: check names the tree, restore and ls fail naming it", async () => {
    const repo = copy();
    // Remove the tree packs (small ones) and their index: the snapshot stays, its trees are gone.
    const engine = await openRepository(createLocalBackend(repo.address), PASSWORD, {
      lock: "none",
      workers: 0,
    });
    const keys = engine.masterKeys;
    const treePacks = new Set(
      engine.index
        .packs()
        .filter((p) => [...engine.index.entries()].some((e) => e.pack === p.id && e.type === "tree"))
        .map((p) => p.id),
    );
    await engine.close();
    for (const [, indexPath] of objects(repo, "index/")) {
      const index = decodeIndex(readFileSync(indexPath), keys);
      rmSync(indexPath);
      putHashed(
        repo,
        "index/",
        encodeIndex({ ...index, packs: index.packs.filter((p) => !treePacks.has(p.id)) }, keys),
      );
    }
    for (const id of treePacks) rmSync(join(repo.address, "data", id.slice(0, 2), id));
    const check = await backapp(repo, ["check"]);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(
      /damaged: tree\/[0-9a-f]{64}: tree [0-9a-f]{64} \(snapshot [0-9a-f]{12}, path \/\): not in the index/,
    );
    const target = join(dir.path, "restore-missing-tree");
    const missing = /tree blob [0-9a-f]{64} not found in the index\n/;
    expectOneLine(await backapp(repo, ["restore", "latest", "--target", target]), missing);
    expectOneLine(await backapp(repo, ["ls", "latest"]), missing);
    expectOneLine(await backapp(repo, ["dump", "latest", join(src, "a.txt")]), missing);
  });
});
