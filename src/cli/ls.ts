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
  warnDamaged,
  withRepository,
} from "./repo/options.ts";

const usage = `Usage: backapp ls --repo REPO SNAPSHOT [PATH] [--json]

Lists what a snapshot holds (full id, unique prefix of 8+ hex characters, or "latest"), below PATH
(default: everything), depth first in name order.

Flags:
  --json   a JSON array of {path, name, type, mode, size, uid, gid, mtime, target?}

${REPO_FLAGS_USAGE}`;

/** ISO time (ms precision, rounded down, also before 1970) from a decimal nanosecond string. */
export function nsToIso(ns: string): string {
  const n = BigInt(ns);
  // BigInt division truncates toward zero; times before 1970 must round down like the others.
  const ms = Number(n / 1_000_000n - (n < 0n && n % 1_000_000n !== 0n ? 1n : 0n));
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : "";
}

/** "drwxr-xr-x" style type and permission bits. */
export function modeString(node: TreeNode): string {
  const type = node.type === "dir" ? "d" : node.type === "symlink" ? "l" : "-";
  const rwx = ["r", "w", "x"];
  let perms = "";
  for (let i = 8; i >= 0; i--) perms += node.mode & (1 << i) ? rwx[(8 - i) % 3] : "-";
  return type + perms;
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
    const { flags, positionals } = parseFlags(argv, { ...REPO_FLAGS, json: { type: "boolean" } });
    const [ref, path] = takePositionals(positionals, ["SNAPSHOT"], ["PATH"]);
    const snapshotRef = snapshotArg(ref!);
    const target = resolveTarget(flags, io);
    const out = jsonArrayWriter(io);
    await withCancellation((signal) =>
      withRepository(target, { lock: "shared", signal }, async (repo) => {
        const snapshot = await repo.findSnapshot(snapshotRef, signal, undefined, warnDamaged(io));
        for await (const { path: p, node } of ls(repo, snapshot, path ?? "/", { signal })) {
          if (flags.json) out.push(lsJson(p, node));
          else {
            const link = node.type === "symlink" ? ` -> ${node.target}` : "";
            const size = String(node.size).padStart(12);
            io.stdout(`${modeString(node)} ${size}  ${displayTime(nsToIso(node.mtime))}  ${p}${link}\n`);
          }
        }
      }),
    );
    if (flags.json) out.end();
    return 0;
  },
};
