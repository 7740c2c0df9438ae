/**
 * Damage, through the CLI: a flipped byte in a pack is found by `check --read-data` (exit 1,
 * naming the pack) and refused by restore and dump; a missing pack is found by the structure check;
 * a damaged snapshot object is named by check and skipped, with a warning, by everything else.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startS3rver, type TestS3 } from "../../helpers/s3rver.ts";
import { tempDir } from "../../helpers/temp.ts";
import {
  backapp,
  backupJson,
  deleteObject,
  localRepo,
  makeTree,
  randomBytesSeeded,
  replaceObject,
  repoObjects,
  s3Repo,
  type TestRepo,
} from "./fixtures.ts";

let s3: TestS3;
const dir = tempDir("backapp-cli-damage-");
const out = tempDir("backapp-cli-damage-out-");
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3.stop();
  dir.cleanup();
  out.cleanup();
});

/** The biggest pack: the one holding the file data (trees are tiny). */
async function dataPack(repo: TestRepo): Promise<[string, Uint8Array]> {
  const packs = [...(await repoObjects(repo))].filter(([name]) => name.startsWith("data/"));
  packs.sort((a, b) => b[1].length - a[1].length);
  return packs[0]!;
}

describe.each(["local", "s3"] as const)("on %s", (kind) => {
  let repo: TestRepo;
  const src = join(dir.path, kind);

  beforeAll(async () => {
    repo = kind === "local" ? localRepo(join(out.path, "repo-local")) : s3Repo(s3);
    makeTree(src, { "data.bin": randomBytesSeeded(600_000, 5), "small.txt": "small" });
    expect((await backapp(repo, ["init"])).code).toBe(0);
    expect((await backupJson(repo, [src])).code).toBe(0);
  });

  it("a flipped byte is found by check --read-data, naming the pack, and refused by restore", async () => {
    const [name, bytes] = await dataPack(repo);
    const flipped = Uint8Array.from(bytes);
    flipped[Math.floor(flipped.length / 3)]! ^= 0x01;
    await replaceObject(repo, name, flipped);

    // The structure check sees the right pack at the right size; only reading finds the rot.
    expect((await backapp(repo, ["check"])).code).toBe(0);
    const check = await backapp(repo, ["check", "--read-data"]);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(`damaged: ${name}: `);
    expect(check.stderr).toMatch(/^backapp check: found \d+ problems?\n$/);
    const subset = await backapp(repo, ["check", "--read-data-subset", "100"]);
    expect(subset.code).toBe(1);
    expect(subset.stdout).toContain(name);

    const target = join(out.path, `restore-${kind}`);
    const restore = await backapp(repo, ["restore", "latest", "--target", target]);
    expect(restore.code).toBe(1);
    expect(restore.stderr).toContain(`error: ${src}/data.bin: `);
    expect(restore.stderr).toContain("backapp restore: 1 item could not be restored\n");
    // Damaged content never lands under its real name.
    expect(existsSync(join(target, src, "data.bin"))).toBe(false);
    expect(existsSync(join(target, src, "small.txt"))).toBe(true);

    const dump = await backapp(repo, ["dump", "latest", `${src}/data.bin`]);
    expect(dump.code).toBe(1);
    expect(dump.stderr).toMatch(/^backapp dump: .+\n$/);

    await replaceObject(repo, name, bytes);
    expect((await backapp(repo, ["check", "--read-data"])).code).toBe(0);
  });

  it("a damaged snapshot object is named by check and skipped, with a warning, by the rest", async () => {
    const second = await backupJson(repo, [src]);
    expect(second.code).toBe(0);
    const objects = await repoObjects(repo);
    const names = [...objects.keys()].filter((n) => n.startsWith("snapshots/"));
    const bad = names.find((n) => !n.endsWith(second.summary.snapshot_id))!;
    const badId = bad.slice("snapshots/".length);
    const original = objects.get(bad)!;
    await replaceObject(repo, bad, new TextEncoder().encode("not a snapshot"));
    try {
      const warning = `warning: skipping unreadable snapshot ${badId.slice(0, 12)}: content does not match its name (SHA-256) (run "backapp check")\n`;
      const list = await backapp(repo, ["snapshots", "--json"]);
      expect(list.code).toBe(0);
      expect((JSON.parse(list.stdout) as { id: string }[]).map((s) => s.id)).toEqual([
        second.summary.snapshot_id,
      ]);
      expect(list.stderr).toBe(warning);
      const check = await backapp(repo, ["check"]);
      expect(check.code).toBe(1);
      expect(check.stdout).toContain(`damaged: ${bad}: `);
      // Asking for that snapshot by id names the damage; "latest" and backups go on.
      const byId = await backapp(repo, ["ls", badId.slice(0, 10)]);
      expect(byId.code).toBe(1);
      expect(byId.stderr).toMatch(
        /^backapp ls: snapshot [0-9a-f]{12}: content does not match its name \(SHA-256\)\n$/,
      );
      expect((await backapp(repo, ["dump", "latest", `${src}/small.txt`])).stdout).toBe("small");
      const third = await backupJson(repo, [src]);
      expect(third.code).toBe(0);
      expect(third.stderr).toBe(warning);
    } finally {
      await replaceObject(repo, bad, original);
    }
    expect((await backapp(repo, ["check"])).code).toBe(0);
  });

  it("a deleted index file: check names what is lost and notes the orphaned packs; --rebuild-index repairs", async () => {
    const objects = await repoObjects(repo);
    const indexFiles = [...objects.keys()].filter((n) => n.startsWith("index/"));
    expect(indexFiles.length).toBeGreaterThan(0);
    try {
      for (const name of indexFiles) await deleteObject(repo, name);
      const check = await backapp(repo, ["check"]);
      expect(check.code).toBe(1);
      expect(check.stdout).toMatch(/^note: \d+ packs? (is|are) in no index file/m);
      expect(check.stdout).toMatch(/^damaged: tree\/[0-9a-f]{64}: .*not in the index$/m);
      // The packs describe themselves: --rebuild-index indexes them again and all is readable.
      const rebuilt = await backapp(repo, ["check", "--rebuild-index", "--read-data"]);
      expect(rebuilt.stdout).toMatch(/^rebuild index: indexed \d+ packs \(\d+ blobs\)\n/);
      expect(rebuilt.stdout).toContain("no errors were found");
      expect(rebuilt.code).toBe(0);
      const again = await backapp(repo, ["check", "--rebuild-index"]);
      expect(again.stdout).toMatch(/^rebuild index: no pack was missing from the index\n/);
      const target = join(out.path, `rebuilt-${kind}`);
      const restore = await backapp(repo, ["restore", "latest", "--target", target, "--verify"]);
      expect(restore.code).toBe(0);
    } finally {
      for (const name of indexFiles) await replaceObject(repo, name, objects.get(name)!);
    }
    expect((await backapp(repo, ["check"])).code).toBe(0);
  });

  it("a missing pack is found by the structure check", async () => {
    const [name, bytes] = await dataPack(repo);
    await replaceObject(repo, name, bytes.subarray(0, 100));
    const check = await backapp(repo, ["check"]);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(
      `damaged: ${name}: pack size 100 differs from indexed size ${bytes.length}`,
    );
    await replaceObject(repo, name, bytes);
  });
});
