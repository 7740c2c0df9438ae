/** find, tag and cat on a local folder and on s3rver, over a tree of awkward names. */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startS3rver, type TestS3 } from "../../helpers/s3rver.ts";
import { tempDir } from "../../helpers/temp.ts";
import { localRepo, s3Repo, type TestRepo } from "../upkeep/fixtures.ts";
import { backapp, backupId, ok, writeFiles } from "./fixtures.ts";

const AWKWARD = ["--json", "new\nline", "caf\u00e9.txt", "😀 emoji.txt", " leading space", "report.PDF"];

let s3: TestS3;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3?.stop();
});

async function setUp(kind: "local" | "s3"): Promise<{ repo: TestRepo; src: string; dir: string }> {
  const d = tempDir();
  const repo = kind === "local" ? localRepo(d.path) : s3Repo(s3);
  await ok(repo, ["init"]);
  const src = join(d.path, "src");
  writeFiles(src, Object.fromEntries(AWKWARD.map((n, i) => [`sub/${n}`, `content ${i}`])));
  return { repo, src, dir: d.path };
}

for (const kind of ["local", "s3"] as const) {
  describe(`new verbs on ${kind}`, () => {
    it("find says where and when a file existed", async () => {
      const { repo, src } = await setUp(kind);
      const first = await backupId(repo, [src]);
      writeFiles(src, { "sub/late.pdf": "late" });
      const second = await backupId(repo, [src]);
      const hits = JSON.parse(await ok(repo, ["find", "--json", "-i", "*.pdf"])) as {
        snapshot: string;
        path: string;
      }[];
      expect(hits.map((h) => [h.snapshot, h.path.slice(src.length)])).toEqual([
        [first, "/sub/report.PDF"],
        [second, "/sub/late.pdf"],
        [second, "/sub/report.PDF"],
      ]);
      const byPath = JSON.parse(await ok(repo, ["find", "--json", "--latest", "1", `${src}/sub/caf*`])) as {
        path: string;
      }[];
      expect(byPath.map((h) => h.path)).toEqual([`${src}/sub/caf\u00e9.txt`]);
      const text = await ok(repo, ["find", "--", "--json"]);
      expect(text).toContain(`snapshot ${first.slice(0, 8)} of `);
      expect(text).toContain("found 2 matches");
      expect((await backapp(repo, ["find"])).code).toBe(2);
    });

    it("tag --add/--remove/--set rewrites only the snapshots that change", async () => {
      const { repo, src } = await setUp(kind);
      const a = await backupId(repo, ["--tag", "daily", src]);
      const b = await backupId(repo, [src]);
      const added = JSON.parse(await ok(repo, ["tag", "--add", "keep,important", "--json", a])) as {
        old: string;
        new: string | null;
      }[];
      expect(added[0]?.old).toBe(a);
      const list = async () =>
        (JSON.parse(await ok(repo, ["snapshots", "--json"])) as { id: string; tags: string[] }[]).map(
          (s) => s.tags,
        );
      expect(await list()).toEqual([["daily", "keep", "important"], []]);
      const again = await ok(repo, ["tag", "--add", "keep", "--tag", "keep"]);
      expect(again).toContain("changed 0 snapshots, 1 already as asked");
      await ok(repo, ["tag", "--set", "x", "--remove", "daily"]);
      expect(await list()).toEqual([["x"], ["x"]]);
      await ok(repo, ["tag", "--set", ""]);
      expect(await list()).toEqual([[], []]);
      // Rewritten snapshots have new ids.
      expect((await ok(repo, ["snapshots", "--json"])).includes(b)).toBe(false);
      const check = await backapp(repo, ["check"]);
      expect(check.code, check.stdout).toBe(0);
    });

    it("cat prints config, snapshot, index and key as JSON, never a secret", async () => {
      const { repo, src } = await setUp(kind);
      const id = await backupId(repo, [src]);
      const config = JSON.parse(await ok(repo, ["cat", "config"])) as Record<string, unknown>;
      expect(config).toMatchObject({ version: 2, encryption: true });
      const snap = JSON.parse(await ok(repo, ["cat", "snapshot", id.slice(0, 8)])) as { id: string };
      expect(snap.id).toBe(id);
      const cat = JSON.parse(await ok(repo, ["cat", "snapshot", "latest"])) as { tree: string };
      const tree = JSON.parse(await ok(repo, ["cat", "tree", cat.tree])) as { nodes: unknown[] };
      expect(tree.nodes.length).toBeGreaterThan(0);
      const keys = JSON.parse(await ok(repo, ["key", "list", "--json"])) as { id: string }[];
      const key = JSON.parse(await ok(repo, ["cat", "key", keys[0]!.id.slice(0, 8)])) as Record<
        string,
        unknown
      >;
      expect(key).toMatchObject({ kdf: "scrypt" });
      expect(JSON.stringify(key)).not.toContain(repo.env.BACKAPP_PASSWORD);
      const bad = await backapp(repo, ["cat", "pack"]);
      expect(bad.code).toBe(2);
      expect((await backapp(repo, ["cat", "index", "zz"])).code).toBe(2);
    });
  });
}
