/**
 * A hostile repository, through the CLI: tree blobs crafted with the engine's own writer (valid
 * encryption and ids, but names that would escape the target: "..", "../x", absolute, "/" inside,
 * NUL, and a name listed twice) and a snapshot pointing at them. restore, ls and dump refuse them
 * with one-line errors (exit 1), nothing is created outside the target, and check names the trees.
 */
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initRepository } from "../../../src/engine/repository/open.ts";
import type { RepositoryImpl } from "../../../src/engine/repository/repository.ts";
import type { TreeNode } from "../../../src/engine/types.ts";
import { createLocalBackend } from "../../../src/storage/local.ts";
import { emptySummary } from "../../engine/repository/fixtures.ts";
import { tempDir } from "../../helpers/temp.ts";
import { backapp, localRepo, PASSWORD, type TestRepo } from "./fixtures.ts";

const dir = tempDir("backapp-cli-hostile-");
afterAll(() => dir.cleanup());

const META = { mode: 0o644, uid: 0, gid: 0, mtime: "1600000000000000000", ctime: "0", inode: 1, device: 1 };

/** Stores `nodes` as a tree blob exactly as given (no validation, no sorting). */
async function rawTree(repo: RepositoryImpl, nodes: Partial<TreeNode>[]): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify({ nodes }));
  const id = repo.blobId(bytes);
  await repo.saveBlob("tree", id, bytes);
  return id;
}

async function fileNode(repo: RepositoryImpl, name: string): Promise<Partial<TreeNode>> {
  const bytes = new TextEncoder().encode("pwned");
  const id = repo.blobId(bytes);
  await repo.saveBlob("data", id, bytes);
  return { name, type: "file", ...META, size: bytes.length, content: [id] };
}

let repo: TestRepo;
const snapshots: Record<string, string> = {};

/** One snapshot per hostile root tree, written with the engine's own repository writer. */
beforeAll(async () => {
  repo = localRepo(dir.path);
  const engine = await initRepository(createLocalBackend(repo.address), PASSWORD, {
    scrypt: { N: 1024, r: 8, p: 1 },
    workers: 0,
  });
  try {
    const cases: Record<string, Partial<TreeNode>[]> = {};
    for (const name of ["..", "../escaped", "/etc/evil", "a/b", "nul\0byte", "."]) {
      cases[name] = [await fileNode(engine, name)];
    }
    const sub = await rawTree(engine, [await fileNode(engine, "x")]);
    cases.duplicate = [
      { name: "d", type: "dir", ...META, size: 0, subtree: sub },
      { name: "d", type: "symlink", ...META, size: 0, target: join(dir.path, "outside") },
    ];
    for (const [label, nodes] of Object.entries(cases)) {
      const tree = await rawTree(engine, nodes);
      await engine.flush();
      const s = await engine.saveSnapshot({
        time: new Date().toISOString(),
        hostname: "h",
        username: "u",
        paths: ["/x"],
        tags: [label],
        parent: null,
        tree,
        program_version: "test",
        summary: emptySummary(),
      });
      snapshots[label] = s.id;
    }
  } finally {
    await engine.close();
  }
  mkdirSync(join(dir.path, "outside"));
});

describe("a hostile repository", () => {
  it.each(["..", "../escaped", "/etc/evil", "a/b", "nul\0byte", ".", "duplicate"])(
    "tree entry %j is refused by restore, ls and dump; nothing escapes",
    async (label) => {
      const id = snapshots[label]!;
      const target = join(dir.path, `target-${Object.keys(snapshots).indexOf(label)}`);
      const r = await backapp(repo, ["restore", id, "--target", target]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^error: \/: tree [0-9a-f]{64}: .+\nbackapp restore: 1 item could not be restored\n$/,
      );
      expect(readdirSync(target)).toEqual([]);
      expect(readdirSync(join(dir.path, "outside"))).toEqual([]);
      expect(existsSync(join(dir.path, "escaped"))).toBe(false);
      expect(existsSync("/etc/evil")).toBe(false);
      const ls = await backapp(repo, ["ls", id]);
      expect(ls.code).toBe(1);
      expect(ls.stderr).toMatch(/^backapp ls: .*tree [0-9a-f]{64}: .+\n$/);
      const dump = await backapp(repo, ["dump", id, "/d/x"]);
      expect(dump.code).toBe(1);
      expect(dump.stderr.split("\n")).toHaveLength(2);
    },
  );

  it("check names every hostile tree", async () => {
    const r = await backapp(repo, ["check"]);
    expect(r.code).toBe(1);
    const damaged = r.stdout.split("\n").filter((l) => l.startsWith("damaged: tree/"));
    expect(damaged).toHaveLength(Object.keys(snapshots).length);
  });
});
