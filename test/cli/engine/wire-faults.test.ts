/**
 * Faults on the wire: the real CLI against s3rver through test/helpers/fault-proxy.ts. Transient
 * faults of every class (S3 errors, resets, stalls, truncated and corrupted responses) on each kind
 * of request are ridden through by the engine's retries: backup, restore, check and forget --prune
 * succeed and restore byte for byte. Permanent faults end with one clear error, and afterwards a
 * clean `check --read-data` finds nothing half-written. A corrupted body never comes back as data.
 * Seeded: the sources and the fault schedule are the same on every run.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBackapp } from "../../helpers/cli.ts";
import { type FaultProxy, type FaultRule, startFaultProxy } from "../../helpers/fault-proxy.ts";
import { startS3rver, type TestS3 } from "../../helpers/s3rver.ts";
import { tempDir } from "../../helpers/temp.ts";
import { randomBytesSeeded } from "../upkeep/fixtures.ts";

let s3: TestS3;
let proxy: FaultProxy;
let tmp: ReturnType<typeof tempDir>;
let repoCount = 0;

beforeAll(async () => {
  s3 = await startS3rver();
  proxy = await startFaultProxy(s3.endpoint);
  tmp = tempDir();
});
afterAll(async () => {
  await proxy.stop();
  await s3.stop();
  tmp.cleanup();
});

function repoEnv(): Record<string, string> {
  repoCount++;
  return {
    BACKAPP_REPO: `s3://${s3.bucket}/wire-${repoCount}`,
    BACKAPP_PASSWORD: "wire faults",
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_ENDPOINT_URL: proxy.endpoint,
    AWS_REGION: s3.region,
  };
}

const run = (env: Record<string, string>, args: string[]) => runBackapp(args, { env, timeoutMs: 120_000 });

/** A source of a few files (one larger than a chunk) whose content depends on `seed`. */
function source(name: string, seed: number): string {
  const dir = join(tmp.path, name);
  mkdirSync(join(dir, "sub"), { recursive: true });
  writeFileSync(join(dir, "big.bin"), randomBytesSeeded(3 * 1024 * 1024 + seed, seed));
  writeFileSync(join(dir, "sub", "small.txt"), `small ${seed}\n`);
  writeFileSync(join(dir, "sub", `only-${seed}.bin`), randomBytesSeeded(200_000, seed + 1));
  return dir;
}

/** Every file under `restored` equals the one under `src`; returns how many matched. */
function sameFiles(src: string, restored: string): number {
  let n = 0;
  if (!existsSync(restored)) return 0;
  for (const e of readdirSync(restored, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    const rel = path.slice(restored.length);
    expect(readFileSync(path).equals(readFileSync(join(src, rel))), rel).toBe(true);
    n++;
  }
  return n;
}

async function clean(env: Record<string, string>): Promise<void> {
  proxy.setRules([]);
  const check = await run(env, ["check", "--read-data"]);
  expect(check.stdout).toMatch(/no errors were found/);
  expect(check.code).toBe(0);
}

/** Transient faults: each fires a bounded number of times, so the retries get through. */
const TRANSIENT: { title: string; rules: FaultRule[]; upkeep?: boolean }[] = [
  {
    title: "a key object corrupted on the way (read again: its name is its hash)",
    rules: [{ kind: "GetObject", keyIncludes: "/keys/", action: "corrupt-response", times: 1 }],
  },
  { title: "500 on the 2nd PutObject", rules: [{ kind: "PutObject", nth: 2, action: "500" }] },
  {
    title: "503 on the 1st PutObject of a pack",
    rules: [{ kind: "PutObject", keyIncludes: "/data/", action: "503", times: 1 }],
  },
  {
    title: "SlowDown on every PutObject, twice",
    rules: [{ kind: "PutObject", action: "slowdown", times: 2 }],
  },
  {
    title: "reset mid-upload",
    rules: [{ kind: "PutObject", keyIncludes: "/data/", action: "reset-request", times: 1 }],
  },
  { title: "stalled upload", rules: [{ kind: "PutObject", nth: 1, action: "stall", stallMs: 1500 }] },
  {
    title: "ListObjects 503 after the 1st",
    rules: [{ kind: "ListObjects", after: 1, action: "503", times: 2 }],
    upkeep: true,
  },
  { title: "GetObject 500", rules: [{ kind: "GetObject", keyIncludes: "/data/", action: "500", times: 2 }] },
  {
    title: "GetObject truncated",
    rules: [{ kind: "GetObject", keyIncludes: "/data/", action: "truncate", times: 2 }],
  },
  {
    title: "GetObject reset mid-body",
    rules: [{ kind: "GetObject", keyIncludes: "/data/", action: "reset-response", times: 2 }],
  },
  {
    title: "GetObject of the index stalled",
    rules: [{ kind: "GetObject", keyIncludes: "/index/", action: "stall", times: 1 }],
  },
  {
    title: "DeleteObject 503",
    rules: [
      { kind: "DeleteObject", action: "503", times: 1 },
      { kind: "DeleteObjects", action: "503", times: 1 },
    ],
    upkeep: true,
  },
];

describe("faults on the wire (CLI, s3rver behind a fault proxy)", () => {
  it("rides through transient faults of every class in backup, restore, check and forget --prune", async () => {
    const env = repoEnv();
    expect((await run(env, ["init"])).code).toBe(0);
    let seed = 1;
    for (const { title, rules, upkeep } of TRANSIENT) {
      seed++;
      const src = source(`src-${seed}`, seed);
      proxy.setRules(rules);
      const backup = await run(env, ["backup", src]);
      expect(backup.code, `${title}: ${backup.stderr}`).toBe(0);
      const target = join(tmp.path, `out-${seed}`);
      const restore = await run(env, ["restore", "latest", "--target", target]);
      expect(restore.code, `${title}: ${restore.stderr}`).toBe(0);
      expect(sameFiles(src, join(target, src))).toBe(3);
      if (upkeep) {
        const check = await run(env, ["check"]);
        expect(check.code, `${title}: ${check.stderr}`).toBe(0);
        const forget = await run(env, ["forget", "--keep-last", "2", "--prune"]);
        expect(forget.code, `${title}: ${forget.stderr}`).toBe(0);
      }
      const fired = Object.values(proxy.injected).reduce((a, b) => a + b, 0);
      expect(fired, title).toBeGreaterThan(0);
    }
    await clean(env);
  }, 300_000);

  it("a permanent upload fault ends the backup with one clear error and leaves nothing check complains about", async () => {
    const env = repoEnv();
    expect((await run(env, ["init"])).code).toBe(0);
    const src = source("perm-up", 100);
    proxy.setRules([{ kind: "PutObject", keyIncludes: "/data/", action: "500" }]);
    const backup = await run(env, ["backup", src]);
    expect(backup.code).not.toBe(0);
    expect(backup.stderr).toMatch(/upload .*data\//);
    expect(
      backup.stderr
        .trim()
        .split("\n")
        .filter((l) => /error|fail/i.test(l)).length,
    ).toBeLessThanOrEqual(2);
    proxy.setRules([]);
    const snaps = await run(env, ["snapshots", "--json"]);
    expect(JSON.parse(snaps.stdout)).toEqual([]);
    await clean(env);
    // And the next backup, with the network healthy, completes and restores.
    expect((await run(env, ["backup", src])).code).toBe(0);
    const target = join(tmp.path, "perm-up-out");
    expect((await run(env, ["restore", "latest", "--target", target])).code).toBe(0);
    expect(sameFiles(src, join(target, src))).toBe(3);
  });

  it("a permanent read fault ends the restore with one clear error; the repository stays sound", async () => {
    const env = repoEnv();
    expect((await run(env, ["init"])).code).toBe(0);
    const src = source("perm-down", 200);
    expect((await run(env, ["backup", src])).code).toBe(0);
    proxy.setRules([{ kind: "GetObject", keyIncludes: "/data/", action: "503" }]);
    const target = join(tmp.path, "perm-down-out");
    const restore = await run(env, ["restore", "latest", "--target", target]);
    expect(restore.code).not.toBe(0);
    expect(restore.stderr).toMatch(/data\/|503|unavailable/i);
    await clean(env);
  });

  it("a corrupted response body is caught by authentication and never restored as data", async () => {
    const env = repoEnv();
    expect((await run(env, ["init"])).code).toBe(0);
    const src = source("corrupt-read", 300);
    expect((await run(env, ["backup", src])).code).toBe(0);
    // Once: the retry reads good bytes and the restore completes, byte for byte.
    proxy.setRules([{ kind: "GetObject", keyIncludes: "/data/", action: "corrupt-response", times: 1 }]);
    const once = join(tmp.path, "corrupt-once");
    const r1 = await run(env, ["restore", "latest", "--target", once]);
    if (r1.code === 0) expect(sameFiles(src, join(once, src))).toBe(3);
    else expect(r1.stderr).toMatch(/authenticat|integrity|damaged/i);
    // Always: the restore fails; every file it did write is correct.
    proxy.setRules([{ kind: "GetObject", keyIncludes: "/data/", action: "corrupt-response" }]);
    const always = join(tmp.path, "corrupt-always");
    const r2 = await run(env, ["restore", "latest", "--target", always]);
    expect(r2.code).not.toBe(0);
    expect(r2.stderr).toMatch(/authenticat|integrity|damaged/i);
    sameFiles(src, join(always, src));
    await clean(env);
  });

  it("a body corrupted on the way in is stored damaged, found by check --read-data, never restored", async () => {
    const env = repoEnv();
    expect((await run(env, ["init"])).code).toBe(0);
    const src = source("corrupt-write", 400);
    proxy.setRules([{ kind: "PutObject", keyIncludes: "/data/", action: "corrupt-request", times: 1 }]);
    expect((await run(env, ["backup", src])).code).toBe(0);
    proxy.setRules([]);
    const check = await run(env, ["check", "--read-data"]);
    expect(check.code).not.toBe(0);
    expect(check.stdout + check.stderr).toMatch(/data\/[0-9a-f]/);
    const target = join(tmp.path, "corrupt-write-out");
    const restore = await run(env, ["restore", "latest", "--target", target]);
    expect(restore.code).not.toBe(0);
    sameFiles(src, join(target, src));
  });
});
