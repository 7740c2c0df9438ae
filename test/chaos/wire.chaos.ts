/**
 * Long run of the wire faults: CHAOS_ROUNDS rounds (default 40), seeded by CHAOS_SEED (default 1).
 * Each round draws one or two transient faults (action × request kind, firing once or twice) and
 * runs backup, then restore of the new snapshot compared byte for byte; every 5th round a check
 * and forget --prune run under faults too, and every 7th round a permanent upload fault must end
 * the backup with an error and leave a repository that `check` finds clean. At the end, with the
 * network healthy, check --read-data passes and every remaining snapshot restores exactly.
 * Prints the trials per fault class and that nothing was lost.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { randomBytesSeeded } from "../cli/upkeep/fixtures.ts";
import { runBackapp } from "../helpers/cli.ts";
import {
  type FaultAction,
  type FaultRule,
  type RequestKind,
  startFaultProxy,
} from "../helpers/fault-proxy.ts";
import { startS3rver } from "../helpers/s3rver.ts";
import { tempDir } from "../helpers/temp.ts";

const rounds = Number(process.env.CHAOS_ROUNDS ?? 40);
let seed = Number(process.env.CHAOS_SEED ?? 1) >>> 0 || 1;
function rand(n: number): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
}

const UPLOAD: FaultAction[] = ["500", "503", "slowdown", "reset-request", "stall"];
const DOWNLOAD: FaultAction[] = [
  "500",
  "503",
  "slowdown",
  "stall",
  "truncate",
  "reset-response",
  "corrupt-response",
];
const KINDS: [RequestKind, FaultAction[]][] = [
  ["PutObject", UPLOAD],
  ["GetObject", DOWNLOAD],
  ["ListObjects", ["500", "503", "slowdown", "stall"]],
  ["HeadObject", ["500", "503"]],
  ["DeleteObject", ["500", "503", "slowdown"]],
];

function drawRule(): FaultRule {
  const [kind, actions] = KINDS[rand(KINDS.length)]!;
  const action = actions[rand(actions.length)]!;
  // Corruption is aimed at objects whose bytes are authenticated by name or MAC on every read
  // (packs, key objects); a restore that then fails must fail on authentication, and succeed after.
  const keyIncludes = action === "corrupt-response" ? (rand(2) ? "/data/" : "/keys/") : undefined;
  return { kind, action, after: rand(3), times: 1 + rand(2), stallMs: 800, keyIncludes };
}

describe("chaos: faults on the wire", () => {
  it(`${rounds} seeded rounds of transient and permanent faults lose nothing`, async () => {
    const s3 = await startS3rver();
    const proxy = await startFaultProxy(s3.endpoint);
    const tmp = tempDir();
    const trials: Record<string, number> = {};
    const snapshots = new Map<string, Map<string, Buffer>>();
    const env = {
      BACKAPP_REPO: `s3://${s3.bucket}/chaos`,
      BACKAPP_PASSWORD: "chaos",
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_ENDPOINT_URL: proxy.endpoint,
      AWS_REGION: s3.region,
    };
    const run = (args: string[]) => runBackapp(args, { env });
    const src = join(tmp.path, "src");
    try {
      expect((await run(["init"])).code).toBe(0);
      for (let round = 1; round <= rounds; round++) {
        const files = new Map<string, Buffer>([
          ["stable.bin", Buffer.from(randomBytesSeeded(500_000, 3))],
          [`round.bin`, Buffer.from(randomBytesSeeded(200_000 + rand(400_000), round + 100))],
        ]);
        mkdirSync(src, { recursive: true });
        for (const [n, b] of files) writeFileSync(join(src, n), b);
        if (round % 7 === 0) {
          proxy.setRules([{ kind: "PutObject", keyIncludes: "/data/", action: "503" }]);
          trials["permanent PutObject 503"] = (trials["permanent PutObject 503"] ?? 0) + 1;
          expect((await run(["backup", src])).code).not.toBe(0);
          proxy.setRules([]);
          expect((await run(["check"])).stdout).toMatch(/no errors were found/);
          continue;
        }
        const rules = Array.from({ length: 1 + rand(2) }, drawRule);
        for (const r of rules) trials[`${r.kind} ${r.action}`] = (trials[`${r.kind} ${r.action}`] ?? 0) + 1;
        proxy.setRules(rules);
        const b = await runBackapp(["backup", "--json", src], { env });
        expect(b.code, `round ${round} ${JSON.stringify(rules)}: ${b.stderr}`).toBe(0);
        const id = JSON.parse(b.stdout.trim().split("\n").at(-1)!).snapshot_id as string;
        snapshots.set(id, files);
        const out = join(tmp.path, `out-${round}`);
        let r = await run(["restore", id, "--target", out]);
        if (r.code !== 0 && rules.some((x) => x.action === "corrupt-response")) {
          expect(r.stderr).toMatch(/authenticat|integrity|damaged|match/i);
          trials["corrupt-response caught, restore failed"] =
            (trials["corrupt-response caught, restore failed"] ?? 0) + 1;
          proxy.setRules([]);
          r = await run(["restore", id, "--target", out]);
        }
        expect(r.code, `round ${round} ${JSON.stringify(rules)}: ${r.stderr}`).toBe(0);
        for (const [n, bytes] of files) expect(readFileSync(join(out, src, n)).equals(bytes)).toBe(true);
        if (round % 5 === 0) {
          expect((await run(["check"])).code).toBe(0);
          expect((await run(["forget", "--keep-last", "3", "--prune"])).code).toBe(0);
        }
      }
      proxy.setRules([]);
      expect((await run(["check", "--read-data"])).stdout).toMatch(/no errors were found/);
      const left = JSON.parse((await run(["snapshots", "--json"])).stdout) as { id: string }[];
      for (const { id } of left) {
        const out = join(tmp.path, `final-${id.slice(0, 12)}`);
        expect((await run(["restore", id, "--target", out])).code).toBe(0);
        for (const [n, bytes] of snapshots.get(id)!)
          expect(readFileSync(join(out, src, n)).equals(bytes)).toBe(true);
      }
      console.log(JSON.stringify({ chaos: "wire", rounds, trials, injected: proxy.injected, lost: 0 }));
    } finally {
      await proxy.stop();
      await s3.stop();
      tmp.cleanup();
    }
  });
});
