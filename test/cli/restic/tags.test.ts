import { describe, expect, it } from "vitest";
import { openLib } from "../upkeep/fixtures.ts";
import { backapp, backupId, ok, REPO_KINDS, workspaces, writeFiles } from "./fixtures.ts";

const workspaceOn = workspaces();

interface SnapJson {
  id: string;
  tags: string[];
}

async function snapshots(repo: Parameters<typeof ok>[0], args: string[] = []): Promise<SnapJson[]> {
  return JSON.parse(await ok(repo, ["snapshots", "--json", ...args])) as SnapJson[];
}

/** Stores a copy of snapshot `id` whose tags are `tags` verbatim (as older versions wrote them). */
async function storeWithTags(repo: Parameters<typeof ok>[0], id: string, tags: string[]): Promise<string> {
  const r = await openLib(repo);
  try {
    const s = await r.findSnapshot(id);
    const { id: _old, ...input } = s;
    return (await r.saveSnapshot({ ...input, tags, time: new Date(Date.parse(s.time) + 1000).toISOString() }))
      .id;
  } finally {
    await r.close();
  }
}

describe.each(REPO_KINDS)("tags follow restic's rules (%s)", (kind) => {
  it("--tag a,b on backup stores two tags, the same as --tag a --tag b", async () => {
    const w = await workspaceOn(kind);
    writeFiles(w.src, { "f.txt": "x" });
    const one = await backupId(w.repo, ["--tag", "a,b", w.src]);
    const two = await backupId(w.repo, ["--tag", "a", "--tag", "b", w.src]);
    const list = await snapshots(w.repo);
    expect(list.find((s) => s.id === one)?.tags).toEqual(["a", "b"]);
    expect(list.find((s) => s.id === two)?.tags).toEqual(["a", "b"]);
    const r = await backapp(w.repo, ["backup", "--tag", ",", w.src]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("flag --tag needs a non-empty tag");
  });

  it('a filter value a,b means both; repeating the flag means either; an old stored "a,b" tag counts as a and b', async () => {
    const w = await workspaceOn(kind);
    writeFiles(w.src, { "f.txt": "x" });
    const ab = await backupId(w.repo, ["--tag", "a,b", w.src]);
    const a = await backupId(w.repo, ["--tag", "a", w.src]);
    const b = await backupId(w.repo, ["--tag", "b", w.src]);
    const none = await backupId(w.repo, [w.src]);
    const legacy = await storeWithTags(w.repo, a, ["a,b"]);
    const ids = async (args: string[]) => (await snapshots(w.repo, args)).map((s) => s.id).sort();
    expect(await ids(["--tag", "a,b"])).toEqual([ab, legacy].sort());
    expect(await ids(["--tag", "a", "--tag", "b"])).toEqual([ab, a, b, legacy].sort());
    expect(await ids(["--tag", ""])).toEqual([none]);
    // The old tag is listed as the two tags it stands for.
    expect((await snapshots(w.repo)).find((s) => s.id === legacy)?.tags).toEqual(["a", "b"]);
    const text = await ok(w.repo, ["snapshots", "--tag", "a,b"]);
    expect(text).toContain("a,b");
    expect(text).toContain("2 snapshots");

    // keep-tag a,b keeps both snapshots holding a and b (new and old form); the rest go.
    const forget = await ok(w.repo, ["forget", "--keep-tag", "a,b", "--group-by", ""]);
    expect(forget).toContain("removed 3 snapshots");
    expect((await snapshots(w.repo)).map((s) => s.id).sort()).toEqual([ab, legacy].sort());
  });
});

describe.each(REPO_KINDS)("snapshot filters on snapshots and forget (%s)", (kind) => {
  it("forget --path only takes part snapshots whose paths include the given path", async () => {
    const w = await workspaceOn(kind);
    writeFiles(w.src, { "a/f": "a", "b/f": "b" });
    const a = `${w.src}/a`;
    const b = `${w.src}/b`;
    await backupId(w.repo, [a]);
    const a2 = await backupId(w.repo, [a]);
    const b1 = await backupId(w.repo, [b]);
    const b2 = await backupId(w.repo, [b]);
    await ok(w.repo, ["forget", "--keep-last", "1", "--path", a]);
    expect((await snapshots(w.repo)).map((s) => s.id).sort()).toEqual([a2, b1, b2].sort());
  });

  it("snapshots --latest N keeps the newest N of each host and set of paths, after the other filters", async () => {
    const w = await workspaceOn(kind);
    writeFiles(w.src, { f: "x" });
    const h1 = [
      await backupId(w.repo, ["--host", "h1", w.src]),
      await backupId(w.repo, ["--host", "h1", "--tag", "t", w.src]),
      await backupId(w.repo, ["--host", "h1", w.src]),
    ];
    const h2 = [
      await backupId(w.repo, ["--host", "h2", w.src]),
      await backupId(w.repo, ["--host", "h2", w.src]),
    ];
    const ids = async (args: string[]) => (await snapshots(w.repo, args)).map((s) => s.id);
    expect(await ids(["--latest", "1"])).toEqual([h1[2], h2[1]]);
    expect(await ids(["--latest", "2", "--host", "h1"])).toEqual([h1[1], h1[2]]);
    expect(await ids(["--latest", "1", "--tag", "t"])).toEqual([h1[1]]);
    expect(await ids(["--latest", "1", "--path", "/nowhere"])).toEqual([]);
    const bad = await backapp(w.repo, ["snapshots", "--latest", "0"]);
    expect(bad.code).toBe(2);
  });

  it("forget --host and --tag only take part the snapshots they match", async () => {
    const w = await workspaceOn(kind);
    writeFiles(w.src, { f: "x" });
    await backupId(w.repo, ["--host", "h1", w.src]);
    const h1 = await backupId(w.repo, ["--host", "h1", w.src]);
    const h2 = [
      await backupId(w.repo, ["--host", "h2", w.src]),
      await backupId(w.repo, ["--host", "h2", w.src]),
    ];
    expect(await ok(w.repo, ["forget", "--keep-last", "1", "--host", "h1"])).toContain(
      "removed 1 snapshot\n",
    );
    const gold = [
      await backupId(w.repo, ["--host", "h1", "--tag", "gold", w.src]),
      await backupId(w.repo, ["--host", "h1", "--tag", "gold", w.src]),
    ];
    await ok(w.repo, ["forget", "--keep-last", "1", "--tag", "gold"]);
    const left = (await snapshots(w.repo)).map((s) => s.id).sort();
    expect(left).toEqual([h1, ...h2, gold[1]].sort());
  });
});
