import { describe, expect, it } from "vitest";
import { forgetByConfig, forgetSnapshotIds, forgetSnapshots } from "../../src/engine/forget.ts";
import type { RepositoryImpl } from "../../src/engine/repository/repository.ts";
import { createMemoryBackend } from "../../src/storage/memory.ts";
import { NotFoundError, ValidationError } from "../../src/util/errors.ts";
import { init, writeSnapshot } from "./prune-fixture.ts";

/** Five daily snapshots of host "a" (2026-01-01..05) and one of host "b". */
async function repoWithSnapshots(): Promise<RepositoryImpl> {
  const repo = await init(createMemoryBackend(), "pw", { lock: "shared" });
  for (let d = 1; d <= 5; d++) {
    await writeSnapshot(
      repo,
      { "f.txt": new TextEncoder().encode(`day ${d}`) },
      `2026-01-0${d}T12:00:00.000Z`,
      {
        hostname: "a",
      },
    );
  }
  await writeSnapshot(repo, { "f.txt": new TextEncoder().encode("b") }, "2026-01-01T12:00:00.000Z", {
    hostname: "b",
  });
  return repo;
}

const days = (snaps: { time: string }[]) => snaps.map((s) => s.time.slice(0, 10)).sort();

describe("forgetByConfig (backup-config retention)", () => {
  it("applies keep-last/daily/weekly/monthly and retentionDays to the config's host only", async () => {
    const repo = await repoWithSnapshots();
    const result = await forgetByConfig(
      repo,
      { keepLast: 1, retentionDays: 2 },
      { hosts: ["a"], timeZone: "UTC" },
    );
    expect(result).not.toBeNull();
    // retentionDays 2 = keep-within 2d of the newest (01-05 noon): 01-04 and 01-05.
    expect(days(result!.keep.map((k) => k.snapshot))).toEqual(["2026-01-04", "2026-01-05"]);
    expect(result!.removed).toHaveLength(3);
    const left = await repo.listSnapshots();
    expect(left.map((s) => `${s.hostname} ${s.time.slice(0, 10)}`).sort()).toEqual([
      "a 2026-01-04",
      "a 2026-01-05",
      "b 2026-01-01",
    ]);
    await repo.close();
  });

  it("forgets nothing when the config sets no rule", async () => {
    const repo = await repoWithSnapshots();
    for (const cfg of [null, undefined, {}, { keepLast: null, keepDaily: 0, retentionDays: null }]) {
      expect(await forgetByConfig(repo, cfg, { timeZone: "UTC" })).toBeNull();
    }
    expect(await repo.listSnapshots()).toHaveLength(6);
    await repo.close();
  });

  it("rejects malformed stored values before deleting anything", async () => {
    const repo = await repoWithSnapshots();
    for (const cfg of [{ keepLast: "3" }, { keepDaily: -1 }, { retentionDays: 1.5 }, [1, 2], "keepLast"]) {
      await expect(forgetByConfig(repo, cfg as never, { timeZone: "UTC" })).rejects.toThrow(ValidationError);
    }
    expect(await repo.listSnapshots()).toHaveLength(6);
    await repo.close();
  });

  it("dry run reports without deleting", async () => {
    const repo = await repoWithSnapshots();
    const r = await forgetSnapshots(repo, { keepLast: 1 }, { dryRun: true, timeZone: "UTC" });
    expect(r.remove).toHaveLength(4);
    expect(r.removed).toEqual([]);
    expect(await repo.listSnapshots()).toHaveLength(6);
    await repo.close();
  });
});

describe("forgetSnapshotIds", () => {
  it("removes named snapshots by id or prefix, resolving all before deleting any", async () => {
    const repo = await repoWithSnapshots();
    const [a, b, c] = await repo.listSnapshots();
    await expect(forgetSnapshotIds(repo, [a!.id, "ffffffffffff"])).rejects.toThrow(NotFoundError);
    await expect(forgetSnapshotIds(repo, ["latest"])).rejects.toThrow(ValidationError);
    await expect(forgetSnapshotIds(repo, ["abc"])).rejects.toThrow(ValidationError);
    expect(await repo.listSnapshots()).toHaveLength(6);
    expect(await forgetSnapshotIds(repo, [b!.id.slice(0, 8)], { dryRun: true })).toEqual([b!.id]);
    expect(await forgetSnapshotIds(repo, [a!.id, b!.id.slice(0, 8), a!.id.toUpperCase(), c!.id])).toEqual([
      a!.id,
      b!.id,
      c!.id,
    ]);
    expect(await repo.listSnapshots()).toHaveLength(3);
    await repo.close();
  });
});
