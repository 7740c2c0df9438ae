import { ls } from "../engine/ls.ts";
import type { TreeNode } from "../engine/types.ts";
import { parseFlags } from "./args.ts";
import type { Command } from "./io.ts";
import { withCancellation } from "./repo/cancel.ts";
import { displayTime } from "./repo/format.ts";
import { jsonArrayWriter } from "./repo/json-array.ts";
import {
  REPO_FLAGS,
  REPO_FLAGS_USAGE,
  resolveTarget,
  snapshotArg,
  takePositionals,
  withRepository,
} from "./repo/options.ts";
import { LATEST_FLAGS, LATEST_FLAGS_USAGE, parseSelection, resolveSnapshot } from "./repo/select.ts";

const usage = `Usage: backapp ls --repo REPO SNAPSHOT [PATH] [--json]

Lists what a snapshot holds (full id, unique prefix of 8+ hex characters, or "latest"), below PATH
(an absolute path as backed up; default: everything), depth first in name order. Each line:
mode as ls -l shows it, uid, gid, size, modification time (UTC), path.

Flags:
  --json   one JSON array, streamed one element per line, of
           {path, name, type, mode, size, uid, gid, mtime, target?}
${LATEST_FLAGS_USAGE}

${REPO_FLAGS_USAGE}`;

/** ISO time (ms precision, rounded down, also before 1970) from a decimal nanosecond string. */
export function nsToIso(ns: string): string {
  const n = BigInt(ns);
  // BigInt division truncates toward zero; times before 1970 must round down like the others.
  const ms = Number(n / 1_000_000n - (n < 0n && n % 1_000_000n !== 0n ? 1n : 0n));
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : "";
}

/**
 * The type and permission column of `ls -l`: "drwxr-xr-x", with setuid/setgid shown as s (S when
 * the execute bit is off) and the sticky bit as t (T), so "drwxrwxrwt" for /tmp.
 */
export function modeString(node: TreeNode): string {
  const type = node.type === "dir" ? "d" : node.type === "symlink" ? "l" : "-";
  const m = node.mode;
  const triple = (shift: number, special: boolean, on: string) => {
    const x = m & (1 << shift);
    const exec = special ? (x ? on : on.toUpperCase()) : x ? "x" : "-";
    return `${m & (4 << shift) ? "r" : "-"}${m & (2 << shift) ? "w" : "-"}${exec}`;
  };
  return (
    type +
    triple(6, (m & 0o4000) !== 0, "s") +
    triple(3, (m & 0o2000) !== 0, "s") +
    triple(0, (m & 0o1000) !== 0, "t")
  );
}

export function lsJson(path: string, node: TreeNode) {
  return {
    path,
    name: node.name,
    type: node.type,
    mode: node.mode,
    size: node.size,
    uid: node.uid,
    gid: node.gid,
    mtime: nsToIso(node.mtime),
    ...(node.type === "symlink" ? { target: node.target ?? "" } : {}),
  };
}

export const lsCommand: Command = {
  name: "ls",
  summary: "list the files in a snapshot",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, {
      ...REPO_FLAGS,
      ...LATEST_FLAGS,
      json: { type: "boolean" },
    });
    const [ref, path] = takePositionals(positionals, ["SNAPSHOT"], ["PATH"]);
    const snapshotRef = snapshotArg(ref!);
    const target = resolveTarget(flags, io);
    const out = jsonArrayWriter(io);
    await withCancellation((signal) =>
      withRepository(target, { lock: "shared", signal }, async (repo) => {
        const snapshot = await resolveSnapshot(repo, snapshotRef, parseSelection(flags), signal, io);
        for await (const { path: p, node } of ls(repo, snapshot, path ?? "/", { signal })) {
          if (flags.json) out.push(lsJson(p, node));
          else {
            const link = node.type === "symlink" ? ` -> ${node.target}` : "";
            const owner = `${node.uid}`.padStart(6) + `${node.gid}`.padStart(6);
            const size = String(node.size).padStart(12);
            io.stdout(
              `${modeString(node)}${owner} ${size}  ${displayTime(nsToIso(node.mtime))} UTC  ${p}${link}\n`,
            );
          }
        }
      }),
    );
    if (flags.json) out.end();
    return 0;
  },
};
