/**
 * Tables of `npm run bench`: medians over the repeats of every step, per tool, with the
 * backapp/restic ratio, as Markdown; and the section of bench/RESULTS.md that a run replaces.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { type Measured, median } from "./measure.ts";

/** One tool's run of the whole sequence on one target. */
export interface ToolRun {
  backup: Measured;
  rebackup: Measured;
  mutated: Measured;
  restore: Measured;
  repoBytes: number;
  /** `diff -r` of the restored tree against the source found no difference. */
  verified: boolean;
}

export interface ToolSeries {
  name: string;
  version: string;
  runs: ToolRun[];
}

export interface Section {
  target: string;
  tools: ToolSeries[];
}

export interface TreeFacts {
  bytes: number;
  files: number;
}

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

type Row = [label: string, value: (runs: ToolRun[]) => number, digits: number, better: "higher" | "lower"];

function med(runs: ToolRun[], f: (r: ToolRun) => number): number {
  return median(runs.map(f));
}

function rows(tree: TreeFacts): Row[] {
  const rate = (m: (r: ToolRun) => Measured) => (runs: ToolRun[]) =>
    med(runs, (r) => tree.bytes / 1e6 / m(r).seconds);
  const secs = (m: (r: ToolRun) => Measured) => (runs: ToolRun[]) => med(runs, (r) => m(r).seconds);
  const cpu = (m: (r: ToolRun) => Measured) => (runs: ToolRun[]) =>
    med(runs, (r) => m(r).userSeconds + m(r).systemSeconds);
  const sys = (m: (r: ToolRun) => Measured) => (runs: ToolRun[]) => med(runs, (r) => m(r).systemSeconds);
  const rss = (m: (r: ToolRun) => Measured) => (runs: ToolRun[]) => med(runs, (r) => m(r).maxRssKiB / 1024);
  const faults = (m: (r: ToolRun) => Measured) => (runs: ToolRun[]) =>
    med(runs, (r) => m(r).minorFaults / 1000);
  return [
    ["initial backup, MB/s", rate((r) => r.backup), 1, "higher"],
    ["initial backup, s", secs((r) => r.backup), 2, "lower"],
    ["unchanged re-backup, s", secs((r) => r.rebackup), 2, "lower"],
    [
      "unchanged re-backup, files/s",
      (runs) => med(runs, (r) => tree.files / r.rebackup.seconds),
      0,
      "higher",
    ],
    ["re-backup after ~1% change, s", secs((r) => r.mutated), 2, "lower"],
    ["restore, MB/s", rate((r) => r.restore), 1, "higher"],
    ["restore, s", secs((r) => r.restore), 2, "lower"],
    ["repository size, MiB", (runs) => med(runs, (r) => r.repoBytes / 1024 / 1024), 1, "lower"],
    ["peak RSS backup, MiB", rss((r) => r.backup), 1, "lower"],
    ["peak RSS re-backup, MiB", rss((r) => r.rebackup), 1, "lower"],
    ["peak RSS restore, MiB", rss((r) => r.restore), 1, "lower"],
    ["CPU backup (user+sys), s", cpu((r) => r.backup), 2, "lower"],
    ["system CPU backup, s", sys((r) => r.backup), 2, "lower"],
    ["CPU re-backup (user+sys), s", cpu((r) => r.rebackup), 2, "lower"],
    ["CPU restore (user+sys), s", cpu((r) => r.restore), 2, "lower"],
    ["system CPU restore, s", sys((r) => r.restore), 2, "lower"],
    ["minor faults backup, k", faults((r) => r.backup), 0, "lower"],
    ["minor faults restore, k", faults((r) => r.restore), 0, "lower"],
  ];
}

/** A Markdown table padded the way the formatter wants it: first column left, the rest right. */
export function alignedTable(cells: string[][]): string[] {
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  const sep = `| ${widths.map((w, i) => (i === 0 ? "-".repeat(w) : `${"-".repeat(w - 1)}:`)).join(" | ")} |`;
  return [line(cells[0]!), sep, ...cells.slice(1).map(line)];
}

/** backapp/restic of a row, written so that > 1 always means backapp is better. */
function ratio(ours: number, theirs: number, better: "higher" | "lower"): string {
  if (!(ours > 0 && theirs > 0)) return "–";
  return `${(better === "higher" ? ours / theirs : theirs / ours).toFixed(2)}×`;
}

export function sectionTable(tree: TreeFacts, s: Section): string[] {
  const [ours, theirs] = s.tools;
  const header = ["metric (median)", ...s.tools.map((t) => t.name), "backapp advantage"];
  const body = rows(tree).map(([label, f, digits, better]) => {
    const values = s.tools.map((t) => f(t.runs));
    const adv = ours && theirs ? ratio(values[0]!, values[1]!, better) : "–";
    return [label, ...values.map((v) => v.toFixed(digits)), adv];
  });
  const verified = ["restore verified byte for byte", ...s.tools.map((t) => verifiedText(t.runs)), ""];
  return alignedTable([header, ...body, verified]);
}

function verifiedText(runs: ToolRun[]): string {
  const ok = runs.filter((r) => r.verified).length;
  return ok === runs.length ? `yes (${ok}/${runs.length})` : `NO (${ok}/${runs.length})`;
}

export interface ReportFacts {
  dataset: string;
  cache: string;
  repeats: number;
  command: string;
  machine: string;
  load: string;
  cacheNote: string;
  mutation: string;
}

export function markdown(tree: TreeFacts, f: ReportFacts, sections: Section[]): string {
  const versions = sections[0]?.tools.map((t) => `${t.name} ${t.version}`).join("; ") ?? "";
  return [
    `## ${f.dataset}, ${f.cache} cache — ${new Date().toISOString()}`,
    "",
    `Command: \`${f.command}\``,
    `Tree: ${tree.files} files, ${mib(tree.bytes)} MiB (bench/lib/tree.ts, deterministic).`,
    `Machine: ${f.machine}; load average ${f.load}.`,
    `Page cache: ${f.cacheNote}. Change step: ${f.mutation}.`,
    `Versions: ${versions}.`,
    `Medians of ${f.repeats} (tools interleaved). MB = 10^6 bytes; rates are tree bytes / wall seconds of the whole command. "backapp advantage" > 1 means backapp is better (faster, smaller).`,
    "Wall times on a shared machine are noisy; CPU seconds, page faults and RSS are the stable figures.",
    ...sections.flatMap((s) => ["", `### Target: ${s.target}`, "", ...sectionTable(tree, s)]),
    "",
  ].join("\n");
}

/** Replaces (or appends) this data set and cache mode's section of bench/RESULTS.md. */
export function updateResults(file: string, key: string, md: string): void {
  const head =
    "# Benchmark results: backapp vs restic\n\n" +
    "Written by `npm run bench` (bench/restic-compare.ts); each section is replaced by the next run of the same data set and cache mode.\n";
  const begin = `<!-- bench:${key} -->`;
  const end = `<!-- /bench:${key} -->`;
  const block = `${begin}\n${md}${end}\n`;
  const text = existsSync(file) ? readFileSync(file, "utf8") : head;
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  const next =
    a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + end.length + 1) : `${text}\n${block}`;
  writeFileSync(file, next);
}
