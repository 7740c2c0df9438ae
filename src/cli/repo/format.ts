/** Output shapes shared by the repository commands: the snapshot JSON contract and plain tables. */
import { snapshotTags } from "../../engine/snapshot-filter.ts";
import type { Snapshot, SnapshotSummary } from "../../engine/types.ts";

/** `snapshots --json` element: exactly these fields, in this order (the CLI contract). */
export interface SnapshotJson {
  id: string;
  short_id: string;
  time: string;
  hostname: string;
  paths: string[];
  tags: string[];
  parent: string | null;
  summary: SnapshotSummary;
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

export function snapshotJson(s: Snapshot): SnapshotJson {
  return {
    id: s.id,
    short_id: shortId(s.id),
    time: s.time,
    hostname: s.hostname,
    paths: s.paths,
    tags: snapshotTags(s.tags),
    parent: s.parent,
    summary: s.summary,
  };
}

/** "1 snapshot", "2 snapshots"; `plural` for irregular words ("1 index file" / "2 index files" need none). */
export function count(n: number, word: string, plural = `${word}s`): string {
  return `${n} ${n === 1 ? word : plural}`;
}

/** Tags for a table cell: "a,b" (a tag never holds a comma, see snapshot-filter.ts); "" for none. */
export function formatTags(tags: readonly string[]): string {
  return snapshotTags(tags).join(",");
}

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => [...(r[i] ?? "")].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c + " ".repeat((widths[i] ?? 0) - [...c].length)))
      .join("  ")
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join("\n")}\n`;
}

/** "2026-11-25 21:30:05" in UTC, from an ISO time. */
export function displayTime(iso: string): string {
  return iso.replace("T", " ").replace(/\.\d+Z$|Z$/, "");
}
