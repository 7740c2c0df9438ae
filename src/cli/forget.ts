import type { ForgetResult } from "../engine/forget.ts";
import { checkTimeZone, type GroupField, parseDuration, type RetentionPolicy } from "../engine/retention.ts";
import type { Snapshot } from "../engine/types.ts";
import { type ForgetOutcome, type ForgetSelection, forgetAndPrune, forgetLock } from "../jobs/operations.ts";
import { ValidationError } from "../util/errors.ts";
import { type FlagSpecs, type ParsedFlags, parseFlags, UsageError } from "./args.ts";
import type { CliIo, Command } from "./io.ts";
import { parseMaxUnused, printPruneReport, pruneJson, stepPrinter } from "./prune.ts";
import { withCancellation } from "./repo/cancel.ts";
import { count, displayTime, formatTags, shortId, snapshotJson, table } from "./repo/format.ts";
import { REPO_FLAGS, REPO_FLAGS_USAGE, resolveTarget, withRepository } from "./repo/options.ts";

const usage = `Usage: backapp forget --repo REPO [KEEP RULES] [--host H]... [--tag T]... [--path P]... [--group-by host,paths,tags]
                      [--time-zone ZONE] [--dry-run] [--prune [--max-unused PCT]] [--json] [-v]
       backapp forget --repo REPO SNAPSHOT... [--dry-run] [--prune [--max-unused PCT]] [--json] [-v]

Removes the snapshots a retention policy does not keep (their data stays until prune). Snapshots
are grouped (default: by host and paths) and the policy applies to each group. A snapshot kept by
any rule stays. At least one keep rule is required. A snapshot that cannot be read is left in
place with a warning (and --prune is then refused).

The second form removes the named snapshots (full ids or unique prefixes of 8+ hex characters),
damaged ones included.

Keep rules (N: a whole number or "unlimited"):
  --keep-last N          the N newest snapshots
  --keep-hourly N        the newest snapshot of each of the last N hours that have snapshots
  --keep-daily N         ... days
  --keep-weekly N        ... ISO weeks (Monday to Sunday)
  --keep-monthly N       ... months
  --keep-yearly N        ... years
  --keep-within DUR      every snapshot newer than the newest one (not in the future) minus DUR
                         (units y, m, d, h: 1y2m3d4h, 30d, 12h)
  --keep-tag T[,T2]      snapshots with all these tags (repeatable: any of the lists; "" keeps
                         untagged snapshots)

Flags:
  --host H               only snapshots of host H (repeatable)
  --path P               only snapshots whose paths include P (repeatable: all of them)
  --tag T[,T2]           only snapshots with all these tags (repeatable: any of the lists; ""
                         selects untagged snapshots)
  --group-by FIELDS      comma list of host, paths, tags; "" for one group (default host,paths)
  --time-zone ZONE       IANA zone for hour/day/week/month/year boundaries (default: local zone)
  --dry-run              show what would be removed and why each snapshot is kept
  --prune                run prune afterwards (takes the exclusive lock for both)
  --max-unused PCT       with --prune: as prune's flag
  --json                 print {dry_run, groups: [{key, keep, remove}], ids, removed, damaged, prune}
  --verbose, -v          also print the full id of each snapshot removed (by a policy) and, with
                         --prune, name each prune step on stderr as it starts

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

function policyFrom(flags: ForgetFlags): RetentionPolicy {
  const policy: RetentionPolicy = {};
  for (const [flag, key] of Object.entries(COUNT_FLAGS)) {
    const n = countFlag(flag, flags[flag as keyof typeof COUNT_FLAGS]);
    if (n) policy[key] = n;
  }
  const within = flags["keep-within"];
  if (within !== undefined) {
    try {
      policy.keepWithin = parseDuration(within);
    } catch (e) {
      throw new UsageError(`flag --keep-within: ${(e as Error).message}`);
    }
  }
  const tags = flags["keep-tag"];
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
  const base = [shortId(s.id), displayTime(s.time), s.hostname, formatTags(s.tags), s.paths.join(" ")];
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
      ? `dry run: would remove ${count(r.remove.length, "snapshot")}\n`
      : `removed ${count(r.removed.length, "snapshot")}\n`,
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

const FLAGS = {
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
  path: { type: "string", multiple: true },
  tag: { type: "string", multiple: true },
  "group-by": { type: "string" },
  "time-zone": { type: "string" },
  "dry-run": { type: "boolean" },
  prune: { type: "boolean" },
  "max-unused": { type: "string" },
  json: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
} as const satisfies FlagSpecs;

type ForgetFlags = ParsedFlags<typeof FLAGS>;

function parseTimeZone(timeZone: string | undefined): string | undefined {
  if (timeZone === undefined) return undefined;
  try {
    checkTimeZone(timeZone);
  } catch (e) {
    if (e instanceof ValidationError) throw new UsageError(`flag --time-zone: ${e.message}`);
    throw e;
  }
  return timeZone;
}

/**
 * Snapshot ids name exactly what goes: policy flags would make their meaning ambiguous, and
 * "latest" would remove whatever happens to be newest.
 */
function checkIds(flags: ForgetFlags, refs: string[]): void {
  const policyFlags = [
    ...Object.keys(COUNT_FLAGS),
    "keep-within",
    "keep-tag",
    "host",
    "path",
    "tag",
    "group-by",
    "time-zone",
  ];
  const given = policyFlags.find((f) => flags[f as keyof ForgetFlags] !== undefined);
  if (given) throw new UsageError(`give snapshot ids or keep rules, not both (--${given} with ids)`);
  for (const ref of refs) {
    if (ref === "latest") {
      // Deliberate (restic refuses it too): a repeated "forget latest" would eat one snapshot a run.
      throw new UsageError(
        '"latest" is not accepted by forget: run twice it would remove two snapshots; give the id ("backapp snapshots --latest 1" shows it)',
      );
    }
    const hex = /^[0-9a-fA-F]{8,64}$/.test(ref);
    if (!hex) throw new UsageError(`"${ref}" is not a snapshot id or a prefix of at least 8 hex characters`);
  }
}

async function forget(flags: ForgetFlags, refs: string[], io: CliIo): Promise<ForgetOutcome> {
  const policy = refs.length > 0 ? null : policyFrom(flags);
  const groupBy = parseGroupBy(flags["group-by"]);
  const timeZone = parseTimeZone(flags["time-zone"]);
  const maxUnusedPct = parseMaxUnused(flags["max-unused"]);
  if (maxUnusedPct !== undefined && !flags.prune) throw new UsageError("--max-unused needs --prune");
  const dryRun = flags["dry-run"] === true;
  const target = resolveTarget(flags, io);
  const lock = forgetLock({ prune: flags.prune, dryRun });
  const onDamaged = (id: string, e: Error) => {
    io.stderr(
      `backapp forget: warning: snapshot ${id.slice(0, 12)} cannot be read and is left in place: ${e.message}\n`,
    );
  };
  const selection: ForgetSelection = policy
    ? { policy, timeZone, groupBy, hosts: flags.host, tags: flags.tag, paths: flags.path }
    : { ids: refs };
  return withCancellation((signal) =>
    withRepository(target, { lock, signal }, (repo) =>
      forgetAndPrune(repo, selection, {
        dryRun,
        prune: flags.prune,
        maxUnusedPct,
        signal,
        onDamaged,
        onPruneStep: stepPrinter(io, flags.verbose),
      }),
    ),
  );
}

export const forgetCommand: Command = {
  name: "forget",
  summary: "remove snapshots by retention policy or id (--prune to reclaim space)",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, FLAGS);
    if (positionals.length > 0) checkIds(flags, positionals);
    const out = await forget(flags, positionals, io);
    const dryRun = flags["dry-run"] === true;
    if (flags.json) {
      const json = { ...resultJson(out.result, dryRun), ids: out.ids, damaged: out.damaged };
      io.stdout(`${JSON.stringify({ ...json, prune: out.pruned ? pruneJson(out.pruned) : null })}\n`);
    } else {
      if (out.ids) printIds(io, out.ids, dryRun);
      else printResult(io, out.result, dryRun);
      // -v: the full ids a script can act on (the tables show 8 characters).
      if (flags.verbose && !out.ids) {
        const ids = dryRun ? out.result.remove.map((s) => s.id) : out.result.removed;
        printIds(io, ids, dryRun, false);
      }
      if (out.pruned) printPruneReport(io, out.pruned);
    }
    if (flags.prune && out.damaged.length > 0) {
      const names = out.damaged.map((d) => d.id.slice(0, 12)).join(", ");
      io.stderr(
        `backapp forget: not pruning: snapshot ${names} cannot be read and prune would refuse; run check, then "backapp forget ID" removes a damaged snapshot\n`,
      );
      return 1;
    }
    return 0;
  },
};

function printIds(io: CliIo, ids: string[], dryRun: boolean, total = true): void {
  for (const id of ids) io.stdout(`${dryRun ? "would remove" : "removed"} snapshot ${id}\n`);
  if (dryRun && total)
    io.stdout(`dry run: would remove ${ids.length} snapshot${ids.length === 1 ? "" : "s"}\n`);
}
