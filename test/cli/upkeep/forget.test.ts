import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { sealWith } from "../../../src/engine/crypto/keys.ts";
import { tempDir } from "../../helpers/temp.ts";
import { backapp, backendOf, localRepo, openLib, type TestRepo, takeSnapshots } from "./fixtures.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

async function withSnapshots(n: number): Promise<TestRepo> {
  const dir = tempDir();
  cleanups.push(dir.cleanup);
  const repo = localRepo(dir.path);
  expect((await backapp(repo, ["init"])).code).toBe(0);
  await takeSnapshots(repo, join(dir.path, "src"), n, { size: 20_000 });
  return repo;
}

describe("backapp forget", () => {
  it.each([
    [[], "no keep rule given"],
    [["--keep-last", "0"], "no keep rule given"],
    [["--keep-within", "0d"], "no keep rule given"],
    [["--keep-last=-1"], "needs a whole number"],
    [["--keep-daily", "three"], 'needs a whole number or "unlimited"'],
    [["--keep-within", "2w"], "flag --keep-within"],
    [["--keep-last", "1", "--group-by", "host,user"], 'takes host, paths and tags, got "user"'],
    [["--keep-last", "1", "--time-zone", "Mars/Base"], 'unknown time zone "Mars/Base"'],
    [["--keep-last", "1", "--max-unused", "5"], "--max-unused needs --prune"],
    [["--keep-last", "1", "--prune", "--max-unused", "150"], "percentage from 0 to 100"],
    [
      ["--keep-last", "1", "0123456789abcdef"],
      "give snapshot ids or keep rules, not both (--keep-last with ids)",
    ],
    [["--host", "h", "0123456789abcdef"], "not both (--host with ids)"],
    [["latest"], '"latest" is not accepted by forget: run twice it would remove two snapshots'],
    [["1234"], '"1234" is not a snapshot id or a prefix of at least 8 hex characters'],
    [["../../config"], "is not a snapshot id"],
  ])("%j is a usage error (exit 2)", async (args, message) => {
    const r = await backapp({ address: "/nonexistent", env: {} }, ["forget", ...args], {
      env: { BACKAPP_REPO: "/nonexistent/repo", BACKAPP_PASSWORD: "x" },
    });
    expect(r.stderr).toContain(message);
    expect(r.code).toBe(2);
  });

  it("shows what a dry run would remove and why each snapshot stays", async () => {
    const repo = await withSnapshots(4);
    const r = await backapp(repo, [
      "forget",
      "--keep-last",
      "1",
      "--keep-weekly",
      "2",
      "--dry-run",
      "--time-zone",
      "UTC",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("snapshots of host testhost, paths");
    expect(r.stdout).toContain("keep 1:");
    // 2026-01-01..04: Thu-Sun of ISO week 2026-W01; only the newest is kept, for both rules.
    expect(r.stdout).toContain("last, weekly 2026-W01");
    expect(r.stdout).not.toContain("oldest");
    expect(r.stdout).toContain("would remove 3:");
    expect(r.stdout).toContain("dry run: would remove 3 snapshots");
    const list = await backapp(repo, ["snapshots", "--json"]);
    expect(JSON.parse(list.stdout)).toHaveLength(4);
  });

  it("removes snapshots outside the policy and honours host and tag filters", async () => {
    const repo = await withSnapshots(3);
    const other = await backapp(repo, ["forget", "--keep-last", "1", "--host", "elsewhere"]);
    expect(other.code).toBe(0);
    expect(other.stdout).toBe("removed 0 snapshots\n");
    const tagged = await backapp(repo, ["forget", "--keep-last", "1", "--tag", "nothing-has-this"]);
    expect(tagged.stdout).toBe("removed 0 snapshots\n");
    const r = await backapp(repo, [
      "forget",
      "--keep-last",
      "unlimited",
      "--keep-within",
      "1d",
      "--group-by",
      "",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("all snapshots (one group):");
    expect(r.stdout).toContain("removed 0 snapshots");
    const real = await backapp(repo, ["forget", "--keep-within", "1d", "--prune"]);
    expect(real.code).toBe(0);
    expect(real.stdout).toContain("within 1d");
    expect(real.stdout).toContain("removed 2 snapshots");
    expect(real.stdout).toMatch(/repository: .* before, free /);
    expect(JSON.parse((await backapp(repo, ["snapshots", "--json"])).stdout)).toHaveLength(1);
  });

  it('--tag "" selects untagged snapshots and --keep-tag "" keeps them (restic)', async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const repo = localRepo(dir.path);
    await backapp(repo, ["init"]);
    const src = join(dir.path, "src");
    await takeSnapshots(repo, src, 2, { size: 20_000 });
    expect((await backapp(repo, ["backup", "--tag", "gold", "--host", "testhost", src])).code).toBe(0);
    const keepUntagged = await backapp(repo, ["forget", "--keep-tag", "", "--dry-run", "--group-by", ""]);
    expect(keepUntagged.code).toBe(0);
    expect(keepUntagged.stdout).toContain("keep 2:");
    expect(keepUntagged.stdout).toContain("untagged");
    expect(keepUntagged.stdout).toContain("would remove 1:");
    const r = await backapp(repo, ["forget", "--tag", "", "--keep-last", "1", "--group-by", "", "--json"]);
    const out = JSON.parse(r.stdout) as { groups: { keep: { tags: string[] }[] }[]; removed: string[] };
    expect(out.removed).toHaveLength(1);
    const left = JSON.parse((await backapp(repo, ["snapshots", "--json"])).stdout) as { tags: string[] }[];
    expect(left.map((s) => s.tags)).toEqual([[], ["gold"]]);
  });

  it("leaves a damaged snapshot in place with a warning, refuses --prune, and removes it by id", async () => {
    const repo = await withSnapshots(3);
    const backend = backendOf(repo);
    let damagedId = "";
    try {
      for await (const o of backend.list("snapshots/")) damagedId = o.name.slice("snapshots/".length);
      await backend.put(`snapshots/${damagedId}`, new TextEncoder().encode("garbage"));
    } finally {
      await backend.close();
    }
    const r = await backapp(repo, ["forget", "--keep-last", "1", "--prune", "--json"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `warning: snapshot ${damagedId.slice(0, 12)} cannot be read and is left in place`,
    );
    expect(r.stderr).toContain("not pruning");
    const out = JSON.parse(r.stdout) as { removed: string[]; damaged: { id: string }[]; prune: null };
    expect(out.removed).toHaveLength(1);
    expect(out.damaged.map((d) => d.id)).toEqual([damagedId]);
    expect(out.prune).toBeNull();

    const dry = await backapp(repo, ["forget", damagedId.slice(0, 8), "--dry-run"]);
    expect(dry.stdout).toBe(`would remove snapshot ${damagedId}\ndry run: would remove 1 snapshot\n`);
    const gone = await backapp(repo, ["forget", damagedId.slice(0, 10), "--prune", "--json"]);
    expect(gone.code).toBe(0);
    const json = JSON.parse(gone.stdout) as {
      ids: string[];
      removed: string[];
      prune: { snapshots: number };
    };
    expect(json.ids).toEqual([damagedId]);
    expect(json.removed).toEqual([damagedId]);
    expect(json.prune.snapshots).toBe(1);
    expect((await backapp(repo, ["check", "--read-data"])).code).toBe(0);
    const missing = await backapp(repo, ["forget", damagedId]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("not found");
  });

  it("previews prune after a dry-run forget without changing anything", async () => {
    const repo = await withSnapshots(3);
    const r = await backapp(repo, ["forget", "--keep-last", "1", "--dry-run", "--prune", "--json"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      removed: string[];
      prune: { dry_run: boolean; bytes: { freed: number } };
    };
    expect(out.removed).toEqual([]);
    expect(out.prune.dry_run).toBe(true);
    expect(out.prune.bytes.freed).toBeGreaterThan(0);
    expect(JSON.parse((await backapp(repo, ["snapshots", "--json"])).stdout)).toHaveLength(3);
  });
});

describe("backapp prune, stats, unlock", () => {
  it("prune --dry-run reports and prune --json prints the report", async () => {
    const repo = await withSnapshots(2);
    await backapp(repo, ["forget", "--keep-last", "1"]);
    const dry = await backapp(repo, ["prune", "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("dry run: nothing was changed");
    const real = await backapp(repo, ["prune", "--max-unused", "0%", "--json"]);
    const json = JSON.parse(real.stdout) as {
      dry_run: boolean;
      snapshots: number;
      index_files: { written: number };
    };
    expect(json.dry_run).toBe(false);
    expect(json.snapshots).toBe(1);
    expect(json.index_files.written).toBe(1);
    const bad = await backapp(repo, ["prune", "--max-unused", "lots"]);
    expect(bad.code).toBe(2);
  });

  it("stats prints sizes and ratios", async () => {
    const repo = await withSnapshots(3);
    const r = await backapp(repo, ["stats"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/snapshots: +3\n/);
    expect(r.stdout).toMatch(/dedup ratio: +\d+\.\d\dx/);
    const json = JSON.parse((await backapp(repo, ["stats", "--json"])).stdout) as Record<string, number>;
    expect(json.latest_files).toBe(5);
    expect(json.total_files).toBe(14);
    expect(json.compression_ratio).toBeGreaterThan(1);
    expect(json.unique_size).toBeGreaterThan(json.unique_data_size!);
    expect(json.referenced_blobs).toBeLessThanOrEqual(json.blobs!);
  });

  it("stats on an empty repository", async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const repo = localRepo(dir.path);
    await backapp(repo, ["init"]);
    const json = JSON.parse((await backapp(repo, ["stats", "--json"])).stdout) as Record<string, unknown>;
    expect(json).toEqual({
      snapshots: 0,
      latest_snapshot: null,
      latest_size: 0,
      latest_files: 0,
      total_size: 0,
      total_files: 0,
      unique_size: 0,
      unique_data_size: 0,
      unique_stored_size: 0,
      stored_size: 0,
      dedup_ratio: 0,
      compression_ratio: 0,
      packs: 0,
      blobs: 0,
      referenced_blobs: 0,
    });
    const text = await backapp(repo, ["stats"]);
    expect(text.stdout).toMatch(/dedup ratio: +-\n/);
  });

  it("stats on an unencrypted repository, and with a damaged snapshot (warned, not counted)", async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const repo = localRepo(dir.path);
    const plain = { ...repo, env: { BACKAPP_REPO: repo.address } };
    expect((await backapp(plain, ["init", "--insecure-no-encryption"])).code).toBe(0);
    await takeSnapshots({ ...plain, env: { ...plain.env, BACKAPP_PASSWORD: "" } }, join(dir.path, "src"), 2, {
      size: 20_000,
    });
    const json = JSON.parse((await backapp(plain, ["stats", "--json"])).stdout) as Record<string, number>;
    expect(json.snapshots).toBe(2);
    expect(json.latest_files).toBe(5); // stable, notes, changing, gen-0, gen-1
    const backend = backendOf(repo);
    try {
      for await (const o of backend.list("snapshots/")) {
        await backend.put(o.name, new TextEncoder().encode("damaged"));
        break;
      }
    } finally {
      await backend.close();
    }
    const r = await backapp(plain, ["stats", "--json"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: snapshot [0-9a-f]{12} cannot be read and is not counted/);
    expect((JSON.parse(r.stdout) as Record<string, number>).snapshots).toBe(1);
  });

  it("unlock with nothing to remove, and --remove-all", async () => {
    const repo = await withSnapshots(1);
    const r = await backapp(repo, ["unlock"]);
    expect(r.stdout).toBe("removed 0 stale locks\n");
    const all = await backapp(repo, ["unlock", "--remove-all"]);
    expect(all.stdout).toBe("removed 0 locks\n");
  });

  it("a lock of another host blocks prune until 30 minutes without refresh make it stale", async () => {
    const repo = await withSnapshots(1);
    const r = await openLib(repo, { lock: "none" });
    const lockAt = async (minutesAgo: number) => {
      const record = {
        time: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
        hostname: "some-other-host",
        pid: process.pid, // alive here, but on another host it says nothing
        exclusive: false,
        username: "ann",
      };
      const name = `locks/${String(minutesAgo).padStart(64, "0")}`;
      await r.backend.put(
        name,
        sealWith(r.masterKeys, "lock", new TextEncoder().encode(JSON.stringify(record))),
      );
      return name;
    };
    try {
      const fresh = await lockAt(29);
      const blocked = await backapp(repo, ["prune"]);
      expect(blocked.code).toBe(1);
      expect(blocked.stderr).toContain("repository is locked: a shared lock by ann@some-other-host");
      await r.backend.delete(fresh);
      await lockAt(31);
      const pruned = await backapp(repo, ["prune"]);
      expect(pruned.stderr).toBe("");
      expect(pruned.code).toBe(0);
      const unlock = await backapp(repo, ["unlock"]);
      expect(unlock.stdout).toMatch(
        /^removed a shared lock by ann@some-other-host pid \d+ since .*\nremoved 1 stale lock\n$/,
      );
    } finally {
      await r.close();
    }
  });

  it("unlock names what it removes; an unreadable lock stays until --remove-all", async () => {
    const repo = await withSnapshots(1);
    const backend = backendOf(repo);
    try {
      await backend.put(`locks/${"ab".repeat(32)}`, new TextEncoder().encode("not a lock"));
    } finally {
      await backend.close();
    }
    const blocked = await backapp(repo, ["prune"]);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain("repository is locked: an unreadable lock (locks/abab");
    const r = await backapp(repo, ["unlock"]);
    expect(r.stdout).toContain("removed 0 stale locks\n");
    expect(r.stdout).toContain("still locked: an unreadable lock (locks/abab");
    expect(r.stdout).toContain("unlock --remove-all deletes it");
    const all = await backapp(repo, ["unlock", "--remove-all"]);
    expect(all.stdout).toBe(
      `removed an unreadable lock (locks/${"ab".repeat(32)}; counted as exclusive)\nremoved 1 lock\n`,
    );
    expect((await backapp(repo, ["prune"])).code).toBe(0);
  });
});
