import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readXattrs, writeXattr } from "../../../src/engine/xattr.ts";
import { startS3rver, type TestS3 } from "../../helpers/s3rver.ts";
import { tempDir } from "../../helpers/temp.ts";
import { localRepo, openLib, s3Repo, type TestRepo } from "../upkeep/fixtures.ts";
import { backapp, backupId, ok, writeFiles } from "./fixtures.ts";

let s3: TestS3;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3?.stop();
});

const attrs = (p: string) =>
  readXattrs(Buffer.from(p)).map((x) => [x.name, Buffer.from(x.value).toString("hex")]);

/** A tree with a file capability (setcap), user attributes on a file and a folder, and awkward names. */
function build(src: string): void {
  writeFiles(src, { "caf\u00e9 😀.bin": "#!/bin/sh\n", "plain.txt": "p", "dir/inner.txt": "i" });
  execFileSync("setcap", ["cap_net_bind_service=+ep", join(src, "caf\u00e9 😀.bin")]);
  writeXattr(Buffer.from(join(src, "caf\u00e9 😀.bin")), "user.comment", new TextEncoder().encode("hello"));
  writeXattr(Buffer.from(join(src, "dir")), "user.folder", new Uint8Array([0, 1, 2, 255]));
}

async function fresh(kind: "local" | "s3"): Promise<{ repo: TestRepo; dir: string; src: string }> {
  const d = tempDir();
  const repo = kind === "local" ? localRepo(d.path) : s3Repo(s3);
  await ok(repo, ["init"]);
  const src = join(d.path, "src");
  build(src);
  return { repo, dir: d.path, src };
}

for (const kind of ["local", "s3"] as const) {
  describe(`extended attributes on ${kind}`, () => {
    it("are stored and restored (file capabilities too); --no-xattrs on either side leaves them out", async () => {
      const { repo, dir, src } = await fresh(kind);
      await ok(repo, ["backup", src]);
      const out = join(dir, "out");
      await ok(repo, ["restore", "latest", "--target", out]);
      for (const p of ["caf\u00e9 😀.bin", "dir", "plain.txt"]) {
        expect(attrs(join(out, src, p)), p).toEqual(attrs(join(src, p)));
      }
      expect(attrs(join(out, src, "caf\u00e9 😀.bin")).map((a) => a[0])).toEqual([
        "security.capability",
        "user.comment",
      ]);
      const bare = join(dir, "bare");
      await ok(repo, ["restore", "latest", "--target", bare, "--no-xattrs"]);
      expect(attrs(join(bare, src, "dir"))).toEqual([]);
      await ok(repo, ["backup", "--no-xattrs", src]);
      const none = join(dir, "none");
      await ok(repo, ["restore", "latest", "--target", none]);
      expect(attrs(join(none, src, "caf\u00e9 😀.bin"))).toEqual([]);
      rmSync(dir, { recursive: true, force: true });
    });

    it("diff marks a file whose attributes alone changed U (as restic does), with xattrs in --json", async () => {
      const { repo, dir, src } = await fresh(kind);
      const first = await backupId(repo, [src]);
      const enc = new TextEncoder();
      writeXattr(Buffer.from(join(src, "caf\u00e9 😀.bin")), "user.comment", enc.encode("changed"));
      writeXattr(Buffer.from(join(src, "plain.txt")), "user.added", enc.encode("new"));
      const second = await backupId(repo, [src]);
      // Only the tree below src: the folders above it (/tmp) change as other tests run.
      const text = (await ok(repo, ["diff", first, second])).split("\n").filter((l) => l.includes(src));
      expect(text).toEqual([`U  ${src}/caf\u00e9 😀.bin  (xattrs)`, `U  ${src}/plain.txt  (xattrs)`]);
      const json = JSON.parse(await ok(repo, ["diff", first, second, "--json"])) as { path: string }[];
      expect(json.filter((e) => e.path.startsWith(src))).toEqual([
        { path: `${src}/caf\u00e9 😀.bin`, kind: "changed", changes: ["xattrs"] },
        { path: `${src}/plain.txt`, kind: "changed", changes: ["xattrs"] },
      ]);
      // Content and attributes changed together: M, both named.
      writeFileSync(join(src, "plain.txt"), "other content");
      writeXattr(Buffer.from(join(src, "plain.txt")), "user.added", enc.encode("again"));
      const third = await backupId(repo, [src]);
      expect(await ok(repo, ["diff", second, third])).toContain(
        `M  ${src}/plain.txt  (content, mtime, xattrs)`,
      );
      rmSync(dir, { recursive: true, force: true });
    });
  });
}

describe("extended attributes", () => {
  it("one the target refuses gives a note, not a failure", async () => {
    const { repo, dir, src } = await fresh("local");
    await ok(repo, ["backup", src]);
    // A namespace no Linux file system accepts, as a snapshot from elsewhere might carry.
    const r = await openLib(repo);
    try {
      const snap = await r.findSnapshot("latest");
      const { id: _id, ...input } = snap;
      const root = await r.loadTree(snap.tree);
      const nodes = root.nodes.map((n) => ({ ...n, xattrs: [{ name: "bogus.ns", value: "AQ==" }] }));
      const tree = await r.saveTree({ nodes });
      await r.flush();
      await r.saveSnapshot({ ...input, tree, time: new Date(Date.parse(snap.time) + 1000).toISOString() });
    } finally {
      await r.close();
    }
    const out = join(dir, "out");
    const res = await backapp(repo, ["restore", "latest", "--target", out]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain("extended attributes not restored: bogus.ns (EOPNOTSUPP)");
  });

  it("a format-1 repository is read as before and never given attributes", async () => {
    const d = tempDir();
    const copy = join(d.path, "v1");
    cpSync(join(import.meta.dirname, "../../engine/repository/format-v1/repo"), copy, { recursive: true });
    const repo: TestRepo = {
      address: copy,
      env: { BACKAPP_REPO: copy, BACKAPP_PASSWORD: "format v1 passphrase" },
    };
    const src = join(d.path, "src");
    mkdirSync(src);
    writeFileSync(join(src, "f"), "x");
    writeXattr(Buffer.from(join(src, "f")), "user.x", new Uint8Array([1]));
    await ok(repo, ["backup", src]);
    const cat = JSON.parse(await ok(repo, ["cat", "config"])) as { version: number };
    expect(cat.version).toBe(1);
    const out = join(d.path, "out");
    await ok(repo, ["restore", "latest", "--target", out]);
    expect(attrs(join(out, src, "f"))).toEqual([]);
    expect((await backapp(repo, ["check", "--read-data"])).code).toBe(0);
    d.cleanup();
  });
});
