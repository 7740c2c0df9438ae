/**
 * Two writers and a pruner on one repository (see two-writers.test.ts): rounds of two concurrent
 * `backup --host` processes and one `forget --keep-last 2 --prune` process, and the final proof
 * that every completed snapshot restores and `check --read-data` passes. Shared with the chaos run.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { backapp, randomBytesSeeded, type TestRepo } from "../upkeep/fixtures.ts";

const LOCKED = /lock/i;

/** Rewrites a host's source for one round; returns what each file must restore to. */
function writeSource(src: string, host: string, round: number): Map<string, Buffer> {
  mkdirSync(src, { recursive: true });
  const seed = round * 31 + host.length;
  const out = new Map<string, Buffer>();
  out.set("shared.bin", Buffer.from(randomBytesSeeded(400_000, 5)));
  out.set(`round.bin`, Buffer.from(randomBytesSeeded(300_000 + round, seed)));
  out.set("host.txt", Buffer.from(`${host} round ${round}\n`));
  for (const [name, bytes] of out) writeFileSync(join(src, name), bytes);
  return out;
}

export interface Taken {
  host: string;
  files: Map<string, Buffer>;
  src: string;
}

export interface RoundStats {
  backups: number;
  backupsLocked: number;
  prunes: number;
  prunesLocked: number;
}

export async function twoWriterRounds(
  repo: TestRepo,
  base: string,
  rounds: number,
  stats: RoundStats = { backups: 0, backupsLocked: 0, prunes: 0, prunesLocked: 0 },
): Promise<Map<string, Taken>> {
  const taken = new Map<string, Taken>();
  const backupOne = async (host: string, round: number) => {
    // One path per host, rewritten each round: forget groups by host and paths, so prune has work.
    const src = join(base, host);
    const files = writeSource(src, host, round);
    const r = await backapp(repo, ["backup", "--host", host, "--json", src], { process: true });
    if (r.code !== 0) {
      expect(r.stderr, `${host} round ${round}`).toMatch(LOCKED);
      stats.backupsLocked++;
      return;
    }
    stats.backups++;
    const summary = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type?: string; snapshot_id?: string; id?: string })
      .find((e) => e.type === "summary");
    const id = summary?.snapshot_id ?? summary?.id;
    expect(id, r.stdout).toBeTruthy();
    taken.set(id!, { host, files, src });
  };
  const pruneOnce = async () => {
    const r = await backapp(repo, ["forget", "--keep-last", "2", "--prune"], { process: true });
    if (r.code === 0) stats.prunes++;
    else {
      expect(r.stderr).toMatch(LOCKED);
      stats.prunesLocked++;
    }
  };
  for (let round = 1; round <= rounds; round++) {
    await Promise.all([backupOne("alpha", round), backupOne("beta", round), pruneOnce()]);
  }
  return taken;
}

export async function expectAllRestore(
  repo: TestRepo,
  base: string,
  taken: Map<string, Taken>,
): Promise<number> {
  const list = await backapp(repo, ["snapshots", "--json"]);
  const present = (JSON.parse(list.stdout) as { id: string }[]).map((s) => s.id);
  let restored = 0;
  for (const id of present) {
    const t = taken.get(id);
    expect(t, `snapshot ${id} was reported by a backup`).toBeDefined();
    const out = join(base, `out-${id.slice(0, 12)}`);
    const r = await backapp(repo, ["restore", id, "--target", out]);
    expect(r.code, r.stderr).toBe(0);
    for (const [name, bytes] of t!.files)
      expect(readFileSync(join(out, t!.src, name)).equals(bytes)).toBe(true);
    restored++;
  }
  const check = await backapp(repo, ["check", "--read-data"]);
  expect(check.stdout).toMatch(/no errors were found/);
  return restored;
}
