/**
 * File names on Linux are bytes; tree names are strings (UTF-8 JSON). A name that is valid UTF-8 is
 * stored as is. Every byte of a name that is not valid UTF-8 is stored as the lone surrogate
 * U+DC00+byte ("surrogateescape", as Python does). Valid UTF-8 can never contain a lone surrogate,
 * so the mapping is reversible and collision-free; JSON keeps lone surrogates as "\udcXX" escapes.
 * All filesystem calls use byte paths (Buffers), so such names round-trip exactly.
 */

const decoder = new TextDecoder("utf-8", { fatal: true });

/** The tree name for raw name bytes. */
export function nameFromBytes(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    return escapeInvalid(bytes);
  }
}

/** Decodes valid UTF-8 sequences, escaping each byte outside one. */
function escapeInvalid(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const len = sequenceLength(bytes, i);
    if (len === 0) {
      out += String.fromCharCode(0xdc00 + bytes[i]!);
      i++;
    } else {
      out += decoder.decode(bytes.subarray(i, i + len));
      i += len;
    }
  }
  return out;
}

/** Length of the valid UTF-8 sequence starting at i, or 0 when it is not one. */
function sequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (len === 0 || i + len > b.length) return 0;
  try {
    decoder.decode(b.subarray(i, i + len));
    return len;
  } catch {
    return 0;
  }
}

/** The raw bytes of a tree name (inverse of nameFromBytes). */
export function nameToBytes(name: string): Buffer {
  const parts: Buffer[] = [];
  let run = "";
  for (let i = 0; i < name.length; i++) {
    const u = name.charCodeAt(i);
    const lone = u >= 0xdc80 && u <= 0xdcff && !(i > 0 && isHigh(name.charCodeAt(i - 1)));
    if (lone) {
      parts.push(Buffer.from(run, "utf8"), Buffer.from([u - 0xdc00]));
      run = "";
    } else {
      run += name[i];
    }
  }
  parts.push(Buffer.from(run, "utf8"));
  return Buffer.concat(parts);
}

function isHigh(u: number): boolean {
  return u >= 0xd800 && u <= 0xdbff;
}

/** Joins a directory byte path and a name's bytes. */
export function joinBytes(dir: Buffer, name: Uint8Array): Buffer {
  const slash = dir.length > 0 && dir[dir.length - 1] === 0x2f ? 0 : 1;
  const out = Buffer.allocUnsafe(dir.length + slash + name.length);
  out.set(dir, 0);
  if (slash === 1) out[dir.length] = 0x2f;
  out.set(name, dir.length + slash);
  return out;
}

const SURROGATES = /[\ud800-\udfff]/;

/**
 * The printable path of `name` in the folder printed as `dirDisplay`, i.e. displayPath(path)
 * without decoding the whole path again: a name without surrogates was valid UTF-8, so it prints as
 * it is (a name with escaped bytes, or an astral character, takes the long way).
 */
export function childDisplay(dirDisplay: string, name: string, path: Uint8Array): string {
  if (SURROGATES.test(name)) return displayPath(path);
  return dirDisplay.endsWith("/") ? dirDisplay + name : `${dirDisplay}/${name}`;
}

/** A printable form of a path (invalid bytes shown as U+FFFD), for messages and progress. */
export function displayPath(path: Uint8Array | string): string {
  return typeof path === "string" ? path : Buffer.from(path).toString("utf8");
}

/**
 * True when `query` (a name typed or passed as a command-line argument) denotes the tree name
 * `name`: equal, or, when the query holds U+FFFD, equal to the name's bytes decoded with
 * replacement. Arguments arrive decoded that way, so a name with invalid UTF-8 bytes can be given
 * as shown by `ls` (several names may then match).
 */
export function nameMatches(query: string, name: string): boolean {
  if (query === name) return true;
  return query.includes("\uFFFD") && nameToBytes(name).toString("utf8") === query;
}
