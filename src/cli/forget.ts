import { type ForgetResult, forgetSnapshots } from "../engine/forget.ts";
import { pruneRepository } from "../engine/prune.ts";
import { checkTimeZone, type GroupField, parseDuration, type RetentionPolicy } from "../engine/retention.ts";
import type { Snapshot } from "../engine/types.ts";
import { ValidationError } from "../util/errors.ts";
import { parseFlags, UsageError } from "./args.ts";
import type { CliIo, Command } from "./io.ts";
import { parseMaxUnused, printPruneReport, pruneJson } from "./prune.ts";
import { withCancellation } from "./repo/cancel.ts";
import { displayTime, shortId, snapshotJson, table } from "./repo/format.ts";
import {
  REPO_FLAGS,
  REPO_FLAGS_USAGE,
  resolveTarget,
  takePositionals,
  withRepository,
} from "./repo/options.ts";

const usage = `Usage: backapp forget --repo REPO [KEEP RULES] [--host H]... [--tag T]... [--group-by host,paths,tags]
                      [--time-zone ZONE] [--dry-run] [--prune [--max-unused PCT]] [--json]

Removes the snapshots a retention policy does not keep (their data stays until prune). Snapshots
are grouped (default: by host and paths) and the policy applies to each group. A snapshot kept by
any rule stays. At least one keep rule is required.

Keep rules (N: a whole number or "unlimited"):
  --keep-last N          the N newest snapshots
  --keep-hourly N        the newest snapshot of each of the last N hours that have snapshots
  --keep-daily N         ... days (while periods are left, the oldest snapshot is kept too)
  --keep-weekly N        ... ISO weeks (Monday to Sunday)
  --keep-monthly N       ... months
  --keep-yearly N        ... years
  --keep-within DUR      every snapshot newer than the newest one (not in the future) minus DUR
                         (units y, m, d, h: 1y2m3d4h, 30d, 12h)
  --keep-tag T[,T2]      snapshots with all these tags (repeatable: any of the lists; "" keeps
                         untagged snapshots)

Flags:
  --host H               only snapshots of host H (repeatable)
  --tag T[,T2]           only snapshots with all these tags (repeatable: any of the lists; ""
                         selects untagged snapshots)
  --group-by FIELDS      comma list of host, paths, tags; "" for one group (default host,paths)
  --time-zone ZONE       IANA zone for hour/day/week/month/year boundaries (default: local zone)
  --dry-run              show what would be removed and why each snapshot is kept
  --prune                run prune afterwards (takes the exclusive lock for both)
  --max-unused PCT       with --prune: as prune's flag
  --json                 print {dry_run, groups: [{key, keep, remove}], removed, prune}

${REPO_FLAGS_USAGE}`;

const COUNT_FLAGS = {
  "keep-last": "keepLast",
  "keep-hourly": "keepHourly",
  "keep-daily": "keepDaily",
  "keep-weekly": "keepWeekly",
  "keep-monthly": "keepMonthly",
  "keep-yearly": "keepYearly",
} as const;

function countFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value === "unlimited") return Number.POSITIVE_INFINITY;
  if (!/^\d+$/.test(value))
    throw new UsageError(`flag --${name} needs a whole number or "unlimited", got "${value}"`);
  return Number(value);
}

function parseGroupBy(value: string | undefined): GroupField[] | undefined {
  if (value === undefined) return undefined;
  const fields = value
    .split(",")
    .map((f) => f.trim())
    .filter((f) => f !== "");
  for (const f of fields) {
    if (f !== "host" && f !== "paths" && f !== "tags") {
      throw new UsageError(`flag --group-by takes host, paths and tags, got "${f}"`);
    }
  }
  return fields as GroupField[];
}

type Flags = Record<string, string | string[] | boolean | undefined>;

function policyFrom(flags: Flags): RetentionPolicy {
  const policy: RetentionPolicy = {};
  for (const [flag, key] of Object.entries(COUNT_FLAGS)) {
    const n = countFlag(flag, flags[flag] as string | undefined);
    if (n) policy[key] = n;
  }
  const within = flags["keep-within"] as string | undefined;
  if (within !== undefined) {
    try {
      policy.keepWithin = parseDuration(within);
    } catch (e) {
      throw new UsageError(`flag --keep-within: ${(e as Error).message}`);
    }
  }
  const tags = flags["keep-tag"] as string[] | undefined;
  if (tags && tags.length > 0) policy.keepTags = tags;
  const active = Object.values(policy).some((v) => (Array.isArray(v) ? v.length > 0 : v));
  const zeroWithin =
    policy.keepWithin &&
    typeof policy.keepWithin === "object" &&
    !Object.values(policy.keepWithin).some((x) => x);
  if (!active || (zeroWithin && Object.keys(policy).length === 1)) {
    throw new UsageError("no keep rule given (e.g. --keep-last 7): refusing to remove every snapshot");
  }
  return policy;
}

function row(s: Snapshot, reasons?: string[]): string[] {
  const base = [shortId(s.id), displayTime(s.time), s.hostname, s.tags.join(","), s.paths.join(" ")];
  return reasons ? [...base, reasons.join(", ")] : base;
}

function printResult(io: CliIo, r: ForgetResult, dryRun: boolean): void {
  for (const g of r.groups) {
    const key = [
      g.key.host !== undefined ? `host ${g.key.host}` : "",
      g.key.paths ? `paths ${g.key.paths.join(" ")}` : "",
      g.key.tags ? `tags ${g.key.tags.join(",") || "(none)"}` : "",
    ].filter((x) => x);
    io.stdout(key.length > 0 ? `snapshots of ${key.join(", ")}:\n` : "all snapshots (one group):\n");
    io.stdout(`keep ${g.keep.length}:\n`);
    io.stdout(
      table(
        ["ID", "Time (UTC)", "Host", "Tags", "Paths", "Reasons"],
        g.keep.map((k) => row(k.snapshot, k.reasons)),
      ),
    );
    if (g.remove.length > 0) {
      io.stdout(`${dryRun ? "would remove" : "remove"} ${g.remove.length}:\n`);
      io.stdout(
        table(
          ["ID", "Time (UTC)", "Host", "Tags", "Paths"],
          g.remove.map((s) => row(s)),
        ),
      );
    }
    io.stdout("\n");
  }
  io.stdout(
    dryRun
      ? `dry run: would remove ${r.remove.length} snapshots\n`
      : `removed ${r.removed.length} snapshots\n`,
  );
}

function resultJson(r: ForgetResult, dryRun: boolean) {
  return {
    dry_run: dryRun,
    groups: r.groups.map((g) => ({
      key: g.key,
      keep: g.keep.map((k) => ({ ...snapshotJson(k.snapshot), reasons: k.reasons })),
      remove: g.remove.map(snapshotJson),
    })),
    removed: r.removed,
  };
}

export const forgetCommand: Command = {
  name: "forget",
  summary: "remove snapshots by retention policy (--prune to reclaim space)",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, {
      ...REPO_FLAGS,
      "keep-last": { type: "string" },
      "keep-hourly": { type: "string" },
      "keep-daily": { type: "string" },
      "keep-weekly": { type: "string" },
      "keep-monthly": { type: "string" },
      "keep-yearly": { type: "string" },
      "keep-within": { type: "string" },
      "keep-tag": { type: "string", multiple: true },
      host: { type: "string", multiple: true },
      tag: { type: "string", multiple: true },
      "group-by": { type: "string" },
      "time-zone": { type: "string" },
      "dry-run": { type: "boolean" },
      prune: { type: "boolean" },
      "max-unused": { type: "string" },
      json: { type: "boolean" },
    });
    takePositionals(positionals, []);
    const policy = policyFrom(flags);
    const groupBy = parseGroupBy(flags["group-by"]);
    const timeZone = flags["time-zone"];
    if (timeZone !== undefined) {
      try {
        checkTimeZone(timeZone);
      } catch (e) {
        if (e instanceof ValidationError) throw new UsageError(`flag --time-zone: ${e.message}`);
        throw e;
      }
    }
    const maxUnusedPct = parseMaxUnused(flags["max-unused"]);
    if (maxUnusedPct !== undefined && !flags.prune) throw new UsageError("--max-unused needs --prune");
    const dryRun = flags["dry-run"] === true;
    const target = resolveTarget(flags, io);
    const lock = flags.prune && !dryRun ? "exclusive" : "shared";
    const { result, pruned } = await withCancellation((signal) =>
      withRepository(target, { lock, signal }, async (repo) => {
        const opts = { dryRun, timeZone, groupBy, hosts: flags.host, tags: flags.tag, signal };
        const result = await forgetSnapshots(repo, policy, opts);
        const pruned = flags.prune
          ? await pruneRepository(repo, {
              maxUnusedPct,
              dryRun,
              signal,
              excludeSnapshots: result.remove.map((s) => s.id),
            })
          : null;
        return { result, pruned };
      }),
    );
    if (flags.json) {
      io.stdout(
        `${JSON.stringify({ ...resultJson(result, dryRun), prune: pruned ? pruneJson(pruned) : null })}\n`,
      );
      return 0;
    }
    printResult(io, result, dryRun);
    if (pruned) printPruneReport(io, pruned);
    return 0;
  },
};
