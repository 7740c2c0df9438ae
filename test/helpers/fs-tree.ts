/** Builds directory trees for archiver/restorer tests and compares two trees entry by entry. */
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

export type Spec =
  | { type: "file"; data: string | Uint8Array; mode?: number; mtime?: number }
  | { type: "dir"; children: Record<string, Spec>; mode?: number; mtime?: number }
  | { type: "symlink"; target: string };

export const file = (data: string | Uint8Array, extra: { mode?: number; mtime?: number } = {}): Spec => ({
  type: "file",
  data,
  ...extra,
});
export const dir = (children: Record<string, Spec>, extra: { mode?: number; mtime?: number } = {}): Spec => ({
  type: "dir",
  children,
  ...extra,
});
export const link = (target: string): Spec => ({ type: "symlink", target });

/** Creates `children` inside `root` (directory metadata set after their contents). */
export function build(root: string, children: Record<string, Spec>): void {
  mkdirSync(root, { recursive: true });
  for (const [name, spec] of Object.entries(children)) {
    const p = join(root, name);
    if (spec.type === "file") {
      writeFileSync(p, spec.data);
      if (spec.mode !== undefined) chmodSync(p, spec.mode);
      if (spec.mtime !== undefined) utimesSync(p, spec.mtime, spec.mtime);
    } else if (spec.type === "symlink") {
      symlinkSync(spec.target, p);
    } else {
      build(p, spec.children);
      if (spec.mode !== undefined) chmodSync(p, spec.mode);
      if (spec.mtime !== undefined) utimesSync(p, spec.mtime, spec.mtime);
    }
  }
}

export interface Entry {
  path: string;
  type: string;
  mode: number;
  mtimeNs: bigint;
  size: number;
  content?: string;
  target?: string;
}

/** Every entry below `root` (byte-path safe), sorted, with metadata to compare. */
export function listTree(root: string | Buffer, rel = ""): Entry[] {
  const out: Entry[] = [];
  const base = Buffer.isBuffer(root) ? root : Buffer.from(root);
  for (const name of readdirSync(base, { encoding: "buffer" }).sort(Buffer.compare)) {
    const p = Buffer.concat([base, Buffer.from("/"), name]);
    const r = `${rel}/${name.toString("latin1")}`;
    const st = lstatSync(p, { bigint: true });
    const e: Entry = {
      path: r,
      type: st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : "file",
      mode: Number(st.mode) & 0o7777,
      mtimeNs: st.mtimeNs,
      size: st.isFile() ? Number(st.size) : 0,
    };
    if (st.isFile()) e.content = readFileSync(p).toString("base64");
    if (st.isSymbolicLink()) {
      e.target = readlinkSync(p, { encoding: "buffer" }).toString("latin1");
      e.mode = 0;
    }
    out.push(e);
    if (st.isDirectory()) out.push(...listTree(p, r));
  }
  return out;
}

/** Differences between two listings; mtimes may differ by what utimes loses (under 2 µs). */
export function treeDifferences(a: Entry[], b: Entry[]): string[] {
  const diffs: string[] = [];
  const byPath = new Map(b.map((e) => [e.path, e]));
  for (const x of a) {
    const y = byPath.get(x.path);
    if (!y) {
      diffs.push(`missing ${x.path}`);
      continue;
    }
    byPath.delete(x.path);
    for (const k of ["type", "mode", "size", "content", "target"] as const) {
      if (x[k] !== y[k])
        diffs.push(`${x.path}: ${k} ${String(x[k]).slice(0, 40)} != ${String(y[k]).slice(0, 40)}`);
    }
    const d = x.mtimeNs - y.mtimeNs;
    if (d > 2000n || d < -2000n) diffs.push(`${x.path}: mtime ${x.mtimeNs} != ${y.mtimeNs}`);
  }
  for (const p of byPath.keys()) diffs.push(`extra ${p}`);
  return diffs;
}
