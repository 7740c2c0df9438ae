/**
 * A deterministic ~1 GiB mixed source tree for benchmarks: many small text files in nested
 * folders, medium files (text, binary-ish, random), and a few large files — partly compressible and
 * fully random. Same bytes every run (AES-CTR keystream from a fixed key as the random source), so
 * results from different days compare.
 */
import { createCipheriv } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";

const LAYOUT_VERSION = "tree-v1";

export interface TreeSpec {
  smallFiles: number;
  mediumFiles: number;
  /** Large files of MiB each: half random, half text (partly compressible). */
  largeMixedMiB: number[];
  /** Large fully random files, MiB each. */
  largeRandomMiB: number[];
  /** Tiny text files in deep folders (the `many-files` data set). */
  tiny?: { files: number; minBytes: number; maxBytes: number };
}

export const DEFAULT_SPEC: TreeSpec = {
  smallFiles: 20_000,
  mediumFiles: 160,
  largeMixedMiB: [192, 128],
  largeRandomMiB: [256, 128],
};

/** The data sets of `npm run bench` (bench/README.md). */
export const DATASETS: Record<string, TreeSpec> = {
  small: { smallFiles: 2000, mediumFiles: 16, largeMixedMiB: [16], largeRandomMiB: [16] },
  medium: DEFAULT_SPEC,
  "many-files": {
    smallFiles: 0,
    mediumFiles: 0,
    largeMixedMiB: [],
    largeRandomMiB: [],
    tiny: { files: 200_000, minBytes: 20, maxBytes: 2000 },
  },
  large: { smallFiles: 0, mediumFiles: 0, largeMixedMiB: [2048, 2048], largeRandomMiB: [2048, 2048] },
};

/** A deterministic byte source: AES-128-CTR over zeros, seeded by a label. */
class Stream {
  private readonly cipher;
  constructor(label: string) {
    const key = Buffer.alloc(16);
    key.write(label.slice(0, 16));
    this.cipher = createCipheriv("aes-128-ctr", key, Buffer.alloc(16));
  }
  /** Keystream drawn ahead for int(): one cipher call per 64 KiB, not per 4 bytes. Taking
   * bytes from it in order keeps the stream exactly what one cipher call per draw gave. */
  private pool = Buffer.alloc(0);
  private at = 0;
  bytes(n: number): Buffer {
    const left = this.pool.length - this.at;
    if (left === 0) return this.cipher.update(Buffer.alloc(n));
    const head = this.pool.subarray(this.at, this.at + Math.min(left, n));
    this.at += head.length;
    return head.length === n
      ? Buffer.from(head)
      : Buffer.concat([head, this.cipher.update(Buffer.alloc(n - head.length))]);
  }
  int(max: number): number {
    if (this.pool.length - this.at < 4) {
      const rest = this.pool.subarray(this.at);
      this.pool = Buffer.concat([rest, this.cipher.update(Buffer.alloc(64 * 1024 - rest.length))]);
      this.at = 0;
    }
    const v = this.pool.readUInt32LE(this.at);
    this.at += 4;
    return v % max;
  }
}

const WORDS = (
  "backup restore snapshot chunk pack index tree blob repository encrypt compress deduplicate " +
  "storage bucket object stream verify check prune schedule retention host path file folder " +
  "the a of and to in is that for it as with was on be by this are from at or an have not"
).split(" ");

function text(rng: Stream, size: number): Buffer {
  const parts: string[] = [];
  let len = 0;
  while (len < size) {
    const line: string[] = [];
    const n = 4 + rng.int(12);
    for (let i = 0; i < n; i++) line.push(WORDS[rng.int(WORDS.length)] ?? "x");
    const s = `${line.join(" ")} ${rng.int(100000)}\n`;
    parts.push(s);
    len += s.length;
  }
  return Buffer.from(parts.join("")).subarray(0, size);
}

function writeSmall(root: string, spec: TreeSpec): number {
  const rng = new Stream("small-files");
  let total = 0;
  for (let i = 0; i < spec.smallFiles; i++) {
    const dir = join(root, "src", `d${i % 40}`, `sub${(i >> 6) % 25}`);
    mkdirSync(dir, { recursive: true });
    const size = 200 + rng.int(9800);
    const data = text(rng, size);
    writeFileSync(join(dir, `file-${i}.txt`), data);
    total += size;
  }
  return total;
}

function writeMedium(root: string, spec: TreeSpec): number {
  const rng = new Stream("medium-files");
  const dir = join(root, "medium");
  mkdirSync(dir, { recursive: true });
  let total = 0;
  for (let i = 0; i < spec.mediumFiles; i++) {
    const size = 256 * 1024 + rng.int(1536 * 1024);
    const kind = i % 3;
    const data = kind === 0 ? text(rng, size) : kind === 1 ? sparseBinary(rng, size) : rng.bytes(size);
    writeFileSync(join(dir, `medium-${i}.${["log", "db", "bin"][kind]}`), data);
    total += size;
  }
  return total;
}

/** Binary with long zero runs, like a database file. */
function sparseBinary(rng: Stream, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let off = 0; off < size; off += 4096) {
    if (rng.int(3) === 0) rng.bytes(Math.min(4096, size - off)).copy(out, off);
  }
  return out;
}

/** Tiny files (20–2,000 B by default) five folders deep, 50 per folder. */
function writeTiny(root: string, spec: TreeSpec): number {
  const t = spec.tiny;
  if (!t) return 0;
  const rng = new Stream("tiny-files");
  let total = 0;
  for (let i = 0; i < t.files; i++) {
    const f = Math.floor(i / 50);
    const dir = join(root, "tiny", `a${f % 8}`, `b${(f >> 3) % 8}`, `c${(f >> 6) % 8}`, `d${f >> 9}`);
    if (i % 50 === 0) mkdirSync(dir, { recursive: true });
    const size = t.minBytes + rng.int(t.maxBytes - t.minBytes + 1);
    writeFileSync(join(dir, `f${i}.txt`), text(rng, size));
    total += size;
  }
  return total;
}

/** Writes a big file MiB by MiB (never the whole file in memory). */
function writeStreamed(path: string, mib: number, next: (m: number) => Buffer): number {
  const fd = openSync(path, "w");
  try {
    for (let m = 0; m < mib; m++) writeSync(fd, next(m));
  } finally {
    closeSync(fd);
  }
  return mib * 1024 * 1024;
}

function writeLarge(root: string, spec: TreeSpec): number {
  const dir = join(root, "large");
  mkdirSync(dir, { recursive: true });
  let total = 0;
  const MiB = 1024 * 1024;
  spec.largeMixedMiB.forEach((mib, i) => {
    const rng = new Stream(`large-mixed-${i}`);
    const next = (m: number) => (m % 2 === 0 ? rng.bytes(MiB) : text(rng, MiB));
    total += writeStreamed(join(dir, `mixed-${i}.img`), mib, next);
  });
  spec.largeRandomMiB.forEach((mib, i) => {
    const rng = new Stream(`large-random-${i}`);
    total += writeStreamed(join(dir, `random-${i}.bin`), mib, () => rng.bytes(MiB));
  });
  return total;
}

export interface TreeInfo {
  path: string;
  bytes: number;
  files: number;
}

/** Generates the tree at `path` unless an identical one is already there (marker file). */
export function ensureTree(path: string, spec: TreeSpec = DEFAULT_SPEC): TreeInfo {
  const marker = `${path}.json`;
  const key = JSON.stringify({ LAYOUT_VERSION, spec });
  if (existsSync(marker) && existsSync(path)) {
    const info = JSON.parse(readFileSync(marker, "utf8")) as TreeInfo & { key: string };
    if (info.key === key) return { path, bytes: info.bytes, files: info.files };
  }
  rmSync(path, { recursive: true, force: true });
  mkdirSync(path, { recursive: true });
  const bytes =
    writeSmall(path, spec) + writeMedium(path, spec) + writeLarge(path, spec) + writeTiny(path, spec);
  const files =
    spec.smallFiles +
    spec.mediumFiles +
    spec.largeMixedMiB.length +
    spec.largeRandomMiB.length +
    (spec.tiny?.files ?? 0);
  writeFileSync(marker, JSON.stringify({ key, bytes, files }));
  return { path, bytes, files };
}
