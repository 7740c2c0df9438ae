/**
 * Upkeep as real processes: a lock held by a live process blocks prune, and becomes stale at once
 * when that process is SIGKILLed (same host, dead pid); prune SIGKILLed at random moments leaves a
 * repository that `check --read-data` accepts, every snapshot still restores, and a second prune
 * finishes the job.
 */
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { forgetSnapshots } from "../../../src/engine/forget.ts";
import { bunPath, mainPath } from "../../helpers/cli.ts";
import { startS3rver } from "../../helpers/s3rver.ts";
import { tempDir } from "../../helpers/temp.ts";
import {
  backapp,
  backendOf,
  expectRestoresExactly,
  localRepo,
  openLib,
  s3Repo,
  type TestRepo,
  takeSnapshots,
} from "./fixtures.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

const root = resolve(import.meta.dirname, "../../..");

/** Starts a process that opens the repository with a shared lock and holds it until killed. */
async function holdLock(repo: TestRepo, dir: string) {
  const script = join(dir, "hold-lock.ts");
  writeFileSync(
    script,
    `import { openRepository } from ${JSON.stringify(join(root, "src/engine/repository/index.ts"))};
import { openBackend } from ${JSON.stringify(join(root, "src/storage/open.ts"))};
await openRepository(openBackend(process.argv[2]!, {}), process.env.BACKAPP_PASSWORD!, { lock: "shared", workers: 0 });
console.log("locked");
setInterval(() => {}, 1000);
`,
  );
  const proc = Bun.spawn([bunPath, script, repo.address], {
    env: { ...process.env, ...repo.env },
    stdout: "pipe",
  });
  const reader = proc.stdout.getReader();
  let seen = "";
  while (!seen.includes("locked")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("lock holder exited early");
    seen += new TextDecoder().decode(value);
  }
  return proc;
}

describe("upkeep processes", () => {
  it("prune refuses while a process holds a lock, and ignores that lock once the process is killed", async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const repo = localRepo(dir.path);
    await backapp(repo, ["init"]);
    await takeSnapshots(repo, join(dir.path, "src"), 2, { size: 20_000 });
    const holder = await holdLock(repo, dir.path);
    try {
      const blocked = await backapp(repo, ["prune"], { process: true });
      expect(blocked.code).toBe(1);
      expect(blocked.stderr).toMatch(/repository is locked: a shared lock by .* pid \d+/);
      const unlock = await backapp(repo, ["unlock"]);
      expect(unlock.stdout).toContain("removed 0 stale locks");
      expect(unlock.stdout).toMatch(
        /still locked: a shared lock by .*@.* pid \d+ since .* \(locks\/[0-9a-f]{64}\)\n/,
      );
    } finally {
      holder.kill("SIGKILL");
      await holder.exited;
    }
    const pruned = await backapp(repo, ["prune"], { process: true });
    expect(pruned.stderr).toBe("");
    expect(pruned.code).toBe(0);
    // The dead holder's lock is still stored (stale, ignored); unlock removes it.
    const unlock = await backapp(repo, ["unlock"]);
    expect(unlock.stdout).toMatch(
      new RegExp(`^removed a shared lock by .* pid ${holder.pid} since .*\\nremoved 1 stale lock\\n$`),
    );
  });

  it("survives SIGKILL at random moments: check --read-data passes and a second prune finishes", async () => {
    // On s3rver every object operation is an HTTP round trip, which spreads prune's writes and
    // deletions over a window the random kills can hit.
    const s3 = await startS3rver();
    cleanups.push(() => void s3.stop());
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const repo = s3Repo(s3);
    await backapp(repo, ["init"]);
    const src = join(dir.path, "src");
    const taken = await takeSnapshots(repo, src, 8, { packSize: 16 * 1024, size: 120_000 });
    const r = await openLib(repo, { lock: "exclusive" });
    await forgetSnapshots(r, { keepLast: 4 }, { timeZone: "UTC" });
    await r.close();
    const pristine = await objects(repo);
    const args = [bunPath, mainPath, "prune", "--max-unused", "0", "--verbose"];
    const env = { ...process.env, ...repo.env };
    // Each run is killed a random few milliseconds after a chosen step starts (named on stderr by
    // --verbose), so the kills land in every phase, including the writes and deletions.
    const steps = [
      "reading index",
      "marking",
      "repacking",
      "writing the new index",
      "deleting superseded",
      "deleting unused",
    ];
    let killed = 0;
    let partial = 0;
    for (const [i, step] of steps.entries()) {
      await replaceAll(repo, pristine);
      const proc = Bun.spawn(args, { env, stdout: "ignore", stderr: "pipe" });
      await waitFor(proc.stderr, step);
      await Bun.sleep(Math.random() * 25);
      proc.kill("SIGKILL");
      await proc.exited;
      if (proc.signalCode === "SIGKILL") {
        killed++;
        const now = await objects(repo);
        if ([...now.keys()].some((k) => !pristine.has(k) && !k.startsWith("locks/"))) partial++;
      }
      const check = await backapp(repo, ["check", "--read-data"]);
      expect(check.stdout).toContain("no errors were found");
      expect(check.code).toBe(0);
      const again = await backapp(repo, ["prune", "--max-unused", "0", "--json"]);
      expect(again.code).toBe(0);
      const final = JSON.parse((await backapp(repo, ["prune", "--max-unused", "0", "--json"])).stdout);
      expect(final.packs).toMatchObject({ removed: 0, repacked: 0, unindexed: 0 });
      expect((await backapp(repo, ["check", "--read-data"])).code).toBe(0);
      expect(await expectRestoresExactly(repo, src, taken, join(dir.path, `scratch-${i}`))).toHaveLength(4);
    }
    expect(killed).toBeGreaterThan(0);
    console.info(`prune SIGKILL test: ${killed} of ${steps.length} runs killed, ${partial} after writing`);
  }, 240_000); // many real processes and s3rver round trips: slow on a loaded 2-core machine
});

/** Reads `stream` until `text` appears (or it ends). */
async function waitFor(stream: ReadableStream<Uint8Array>, text: string): Promise<void> {
  const reader = stream.getReader();
  let seen = "";
  while (!seen.includes(text)) {
    const { value, done } = await reader.read();
    if (done) return;
    seen += new TextDecoder().decode(value);
  }
  reader.releaseLock();
}

async function objects(repo: TestRepo): Promise<Map<string, Uint8Array>> {
  const b = backendOf(repo);
  const out = new Map<string, Uint8Array>();
  try {
    for await (const o of b.list("")) out.set(o.name, await b.get(o.name));
  } finally {
    await b.close();
  }
  return out;
}

async function replaceAll(repo: TestRepo, wanted: Map<string, Uint8Array>): Promise<void> {
  const b = backendOf(repo);
  try {
    for await (const o of b.list("")) if (!wanted.has(o.name)) await b.delete(o.name);
    for (const [name, bytes] of wanted) await b.put(name, bytes);
  } finally {
    await b.close();
  }
}
