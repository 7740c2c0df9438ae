/**
 * Issue 14's bugs, each as a regression test through the real compiled binary (the from-source
 * tests in test/cli/restic/ prove the same behaviour in-process; this proves the shipped binary
 * has it): tags, check counts, ls modes and times, a cancelled backup's temporary objects,
 * `key add --json`, an empty BACKAPP_PASSWORD and plurals. Exit codes for no arguments and a
 * too-short key prefix are in binary-contract.test.ts. Local folder repositories only.
 */
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { compiledBinary } from "../helpers/binary.ts";
import type { CliResult } from "../helpers/cli.ts";
import {
  backapp,
  expectCancelledBackupCleansUp,
  expectLsLongModes,
  type TestRepo,
  workspace,
  writeFiles,
  writeSpecialModes,
} from "./restic/fixtures.ts";
import { randomBytesSeeded } from "./upkeep/fixtures.ts";

let binary: string;
beforeAll(() => {
  binary = compiledBinary();
}, 300_000);

function run(repo: TestRepo, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return backapp(repo, args, { binary, env });
}

async function pass(repo: TestRepo, args: string[]): Promise<string> {
  const r = await run(repo, args);
  expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

async function snapshotId(repo: TestRepo, args: string[]): Promise<string> {
  return (await pass(repo, ["backup", ...args])).trim().split("\n").at(-1)!;
}

async function snapshotTags(repo: TestRepo): Promise<Map<string, string[]>> {
  const list = JSON.parse(await pass(repo, ["snapshots", "--json"])) as { id: string; tags: string[] }[];
  return new Map(list.map((s) => [s.id, s.tags]));
}

describe("compiled binary: issue 14 regressions", () => {
  it("--tag a,b stores two tags like --tag a --tag b; --keep-tag a,b keeps only snapshots holding both", async () => {
    const w = await workspace();
    writeFiles(w.src, { "f.txt": "x" });
    // One snapshot each: --tag a,b; --tag a --tag b; --tag a; no tag.
    const tagFlags = [["--tag", "a,b"], ["--tag", "a", "--tag", "b"], ["--tag", "a"], []];
    const ids: string[] = [];
    for (const flags of tagFlags) ids.push(await snapshotId(w.repo, [...flags, w.src]));
    const tags = await snapshotTags(w.repo);
    expect(ids.map((id) => tags.get(id))).toEqual([["a", "b"], ["a", "b"], ["a"], []]);
    const forget = await pass(w.repo, ["forget", "--keep-tag", "a,b", "--group-by", ""]);
    expect(forget).toContain("removed 2 snapshots");
    expect([...(await snapshotTags(w.repo)).keys()].sort()).toEqual(ids.slice(0, 2).sort());
  });

  it("check counts the same blobs with --read-data; --read-data-subset counts the packs it read", async () => {
    const w = await workspace();
    // Two backups of different data write at least two packs.
    writeFiles(w.src, { "a.bin": randomBytesSeeded(50_000, 1) });
    await pass(w.repo, ["backup", w.src]);
    writeFiles(w.src, { "b.bin": randomBytesSeeded(50_000, 2) });
    await pass(w.repo, ["backup", w.src]);
    const summary = async (args: string[]) =>
      JSON.parse((await pass(w.repo, ["check", "--json", ...args])).trim().split("\n").at(-1)!) as {
        packs: number;
        blobs: number;
        packs_read: number;
        blobs_read: number;
      };
    const plain = await summary([]);
    const full = await summary(["--read-data"]);
    expect(plain.packs).toBeGreaterThanOrEqual(2);
    expect(full.blobs).toBe(plain.blobs);
    expect(full.blobs_read).toBe(plain.blobs);
    expect(full.packs_read).toBe(plain.packs);
    const subset = await summary(["--read-data-subset", "10%"]);
    expect(subset.packs_read).toBe(1);
    const text = await pass(w.repo, ["check", "--read-data-subset", "10%"]);
    expect(text).toContain(
      `checked 2 snapshots, ${plain.packs} packs, ${plain.blobs} blobs; read 1 of ${plain.packs} packs (`,
    );
    expect(await pass(w.repo, ["check", "--read-data"])).toContain(
      `; read all ${plain.packs} packs (${plain.blobs} blobs)`,
    );
  });

  it("ls keeps the setuid, setgid and sticky bits and marks times as UTC", async () => {
    const w = await workspace();
    writeSpecialModes(w.src);
    await pass(w.repo, ["backup", w.src]);
    expectLsLongModes(await pass(w.repo, ["ls", "latest", w.src]));
  });

  it("a backup interrupted with SIGINT leaves no .tmp-* object in the repository", async () => {
    await expectCancelledBackupCleansUp(await workspace(), [binary]);
  }, 120_000);

  it("key add --json prints JSON; an empty BACKAPP_PASSWORD counts as unset", async () => {
    const w = await workspace();
    const add = await run(w.repo, ["key", "add", "--json"], { BACKAPP_NEW_PASSWORD: "second passphrase" });
    expect(add.code, add.stderr).toBe(0);
    expect(JSON.parse(add.stdout)).toEqual({ added: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const empty = await run(w.repo, ["snapshots"], { BACKAPP_PASSWORD: "" });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain("no passphrase given");
  });

  it('says "checked 1 snapshot" and "1 file", "1 symlink"', async () => {
    const w = await workspace();
    writeFiles(w.src, { "one/a.txt": "a" });
    symlinkSync("a.txt", join(w.src, "one/link"));
    await pass(w.repo, ["backup", join(w.src, "one")]);
    expect(await pass(w.repo, ["check"])).toMatch(/^checked 1 snapshot, \d+ packs, \d+ blobs\n/);
    const restored = await pass(w.repo, ["restore", "latest", "--target", join(w.dir, "out")]);
    expect(restored).toMatch(/^restored 1 file \(1 B\), \d+ folders, 1 symlink; /);
  });
});
