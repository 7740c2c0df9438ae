/**
 * A ~1% change of a benchmark tree, and its undo: every 100th file (in path order) and every file
 * of 64 MiB or more gets new bytes — the whole file when it is under 1 MiB, else 1% of it in the
 * middle. The original bytes and times go to `<tree>.undo/` first, so `revert()` (also run at the
 * start of the next bench when a run died half way) gives back the pristine tree.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";

interface Change {
  path: string;
  offset: number;
  length: number;
  atimeMs: number;
  mtimeMs: number;
}

const MiB = 1024 * 1024;

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out;
}

function region(size: number): { offset: number; length: number } {
  if (size < MiB) return { offset: 0, length: size };
  const length = Math.floor(size / 100);
  return { offset: Math.floor((size - length) / 2), length };
}

function pread(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(length);
    let at = 0;
    while (at < length) at += readSync(fd, buf, at, length - at, offset + at);
    return buf;
  } finally {
    closeSync(fd);
  }
}

function pwrite(path: string, offset: number, data: Buffer): void {
  const fd = openSync(path, "r+");
  try {
    let at = 0;
    while (at < data.length) at += writeSync(fd, data, at, data.length - at, offset + at);
  } finally {
    closeSync(fd);
  }
}

/** Changes ~1% of the tree; returns the files and bytes changed. */
export function mutate(tree: string): { files: number; bytes: number } {
  revert(tree);
  const undo = `${tree}.undo`;
  mkdirSync(undo, { recursive: true });
  const changes: Change[] = [];
  files(tree).forEach((path, i) => {
    const st = statSync(path);
    if (i % 100 !== 0 && st.size < 64 * MiB) return;
    const { offset, length } = region(st.size);
    if (length === 0) return;
    writeFileSync(join(undo, String(changes.length)), pread(path, offset, length));
    changes.push({ path, offset, length, atimeMs: st.atimeMs, mtimeMs: st.mtimeMs });
    writeFileSync(join(undo, "changes.json"), JSON.stringify(changes));
    pwrite(path, offset, randomBytes(length));
  });
  return { files: changes.length, bytes: changes.reduce((n, c) => n + c.length, 0) };
}

/** Puts back what mutate() changed (a no-op when nothing is pending). */
export function revert(tree: string): void {
  const undo = `${tree}.undo`;
  const manifest = join(undo, "changes.json");
  if (!existsSync(manifest)) {
    rmSync(undo, { recursive: true, force: true });
    return;
  }
  const changes = JSON.parse(readFileSync(manifest, "utf8")) as Change[];
  changes.forEach((c, i) => {
    pwrite(c.path, c.offset, readFileSync(join(undo, String(i))));
    utimesSync(c.path, c.atimeMs / 1000, c.mtimeMs / 1000);
  });
  rmSync(undo, { recursive: true, force: true });
}
