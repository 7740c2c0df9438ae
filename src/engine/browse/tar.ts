/**
 * POSIX tar (pax interchange format) headers: a ustar header per entry, preceded by a pax extended
 * header ('x') when the ustar fields cannot hold the truth — names that are long or not ASCII,
 * sizes of 8 GiB and more, sub-second or pre-1970 mtimes, large uid/gid. Names are written as
 * their raw bytes. A pax path that is not UTF-8 goes without `hdrcharset=BINARY`, as GNU tar
 * writes it (GNU tar 1.34 warns about that keyword, then extracts the raw bytes either way).
 */

import { secondsString, timespecs } from "../restore/times.ts";

export const BLOCK = 512;

export interface TarHeader {
  /** Raw path bytes, relative, without a trailing "/" (added for directories). */
  path: Buffer;
  type: "file" | "dir" | "symlink";
  mode: number;
  uid: number;
  gid: number;
  /** Files: content bytes. */
  size: number;
  /** Nanoseconds since the epoch (decimal string, may be negative). */
  mtime: string;
  /** Symlinks: raw target bytes. */
  target?: Buffer;
}

const TYPEFLAG = { file: "0", dir: "5", symlink: "2" } as const;
const MAX_OCTAL_12 = 8 ** 11 - 1;
const MAX_OCTAL_8 = 8 ** 7 - 1;
const utf8 = new TextDecoder("utf-8", { fatal: true });

function isAscii(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i]! >= 0x80) return false;
  return true;
}

function isUtf8(b: Buffer): boolean {
  try {
    utf8.decode(b);
    return true;
  } catch {
    return false;
  }
}

/** One pax record: "<len> <key>=<value>\n", where <len> counts the whole record. */
function paxRecord(key: string, value: Buffer | string): Buffer {
  const v = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  const rest = Buffer.byteLength(key) + v.length + 3; // " " "=" "\n"
  let len = rest + 1;
  while (String(len).length + rest !== len) len = String(len).length + rest;
  return Buffer.concat([Buffer.from(`${len} ${key}=`), v, Buffer.from("\n")]);
}

/**
 * ustar name/prefix for a path, or null when it needs a pax path: when it does not fit, or holds
 * UTF-8 beyond ASCII (pax is the portable way to say "UTF-8"). A name that is not UTF-8 at all
 * goes in raw when it fits (fewer headers; GNU tar and libarchive take the bytes as they are).
 */
function splitName(path: Buffer): { name: Buffer; prefix: Buffer } | null {
  if (!isAscii(path) && isUtf8(path)) return null;
  if (path.length <= 100) return { name: path, prefix: Buffer.alloc(0) };
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] !== 0x2f) continue;
    if (i > 155) continue;
    if (path.length - i - 1 > 100) return null;
    return { name: path.subarray(i + 1), prefix: path.subarray(0, i) };
  }
  return null;
}

/** Whether a link target fits the ustar linkname field (same rule as names: see splitName). */
function fitsLink(target: Buffer): boolean {
  return target.length <= 100 && (isAscii(target) || !isUtf8(target));
}

function octal(block: Buffer, offset: number, width: number, value: number): void {
  block.write(`${value.toString(8).padStart(width - 1, "0")}\0`, offset, width, "latin1");
}

/** The pax records a header needs (empty when plain ustar holds everything). */
function paxRecords(h: TarHeader, path: Buffer, time: { sec: bigint; nsec: bigint }): Buffer[] {
  const out: Buffer[] = [];
  const paxPath = !splitName(path);
  const paxLink = h.target !== undefined && !fitsLink(h.target);
  if (paxPath) out.push(paxRecord("path", path));
  if (paxLink) out.push(paxRecord("linkpath", h.target!));
  if (h.size > MAX_OCTAL_12) out.push(paxRecord("size", String(h.size)));
  if (time.nsec !== 0n || time.sec < 0n || time.sec > BigInt(MAX_OCTAL_12))
    out.push(paxRecord("mtime", secondsString(h.mtime)));
  if (h.uid > MAX_OCTAL_8) out.push(paxRecord("uid", String(h.uid)));
  if (h.gid > MAX_OCTAL_8) out.push(paxRecord("gid", String(h.gid)));
  return out;
}

/** A bare ustar header block. Fields that do not fit are left for the pax header to carry. */
function ustar(
  name: Buffer,
  prefix: Buffer,
  flag: string,
  h: Pick<TarHeader, "mode" | "uid" | "gid" | "size" | "target">,
  sec: bigint,
): Buffer {
  const b = Buffer.alloc(BLOCK);
  name.copy(b, 0, 0, Math.min(100, name.length));
  octal(b, 100, 8, h.mode & 0o7777);
  octal(b, 108, 8, h.uid <= MAX_OCTAL_8 ? h.uid : 0);
  octal(b, 116, 8, h.gid <= MAX_OCTAL_8 ? h.gid : 0);
  octal(b, 124, 12, h.size <= MAX_OCTAL_12 ? h.size : 0);
  octal(b, 136, 12, sec >= 0n && sec <= BigInt(MAX_OCTAL_12) ? Number(sec) : 0);
  b.write(flag, 156, 1, "latin1");
  if (h.target && fitsLink(h.target)) h.target.copy(b, 157);
  b.write("ustar\0", 257, 6, "latin1");
  b.write("00", 263, 2, "latin1");
  prefix.copy(b, 345, 0, Math.min(155, prefix.length));
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i]!;
  b.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "latin1");
  return b;
}

/** An ASCII stand-in name for readers that ignore pax headers. */
function fallbackName(path: Buffer): Buffer {
  const ascii = Buffer.from(path.toString("latin1").replace(/[^\x20-\x7e]/g, "_"), "latin1");
  return ascii.subarray(Math.max(0, ascii.length - 99));
}

/** Header block(s) for one entry: an optional pax header with its data, then the ustar header. */
export function tarHeader(h: TarHeader): Buffer {
  const path = h.type === "dir" ? Buffer.concat([h.path, Buffer.from("/")]) : h.path;
  const [sec, nsec] = timespecs(h.mtime);
  const time = { sec: sec!, nsec: nsec! };
  const records = paxRecords(h, path, time);
  const split = splitName(path) ?? { name: fallbackName(path), prefix: Buffer.alloc(0) };
  const main = ustar(split.name, split.prefix, TYPEFLAG[h.type], h, time.sec);
  if (records.length === 0) return main;
  const data = Buffer.concat(records);
  const paxName = Buffer.concat([Buffer.from("PaxHeaders/"), fallbackName(path).subarray(-80)]);
  const pax = ustar(
    paxName,
    Buffer.alloc(0),
    "x",
    { mode: 0o644, uid: 0, gid: 0, size: data.length },
    time.sec < 0n ? 0n : time.sec,
  );
  return Buffer.concat([pax, data, Buffer.alloc(padding(data.length)), main]);
}

/** Zero bytes after `size` bytes of data to reach a block boundary. */
export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** The end of an archive: two zero blocks. */
export function tarEnd(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}
