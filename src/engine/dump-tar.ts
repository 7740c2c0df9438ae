/**
 * `dump` of a folder (or the whole snapshot): a POSIX tar stream (ustar headers, with a pax
 * extended header whenever a name, link target, size, owner or time does not fit ustar), written
 * entry by entry with back-pressure, file content blob by blob (each authenticated), so memory
 * stays at one blob whatever the folder's size. Paths in the archive are the snapshot paths
 * without their leading "/".
 */
import { once } from "node:events";
import { IntegrityError, throwIfAborted } from "../util/errors.ts";
import type { DumpSink } from "./dump.ts";
import { ls } from "./ls.ts";
import type { Repository, Snapshot, TreeNode } from "./types.ts";

const BLOCK = 512;
const enc = new TextEncoder();

function octal(out: Uint8Array, at: number, width: number, value: number): boolean {
  const text = value.toString(8).padStart(width - 1, "0");
  if (text.length > width - 1) return false;
  out.set(enc.encode(text), at);
  return true;
}

function ascii(out: Uint8Array, at: number, width: number, text: string): boolean {
  const bytes = enc.encode(text);
  if (bytes.length > width || !/^[\x20-\x7e]*$/.test(text)) return false;
  out.set(bytes, at);
  return true;
}

/** One pax record "LEN key=value\n" (LEN counts the whole record, itself included). */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const n = enc.encode(body).length;
  let len = n + String(n).length;
  if (String(len).length !== String(n).length) len = n + String(len).length;
  return `${len}${body}`;
}

function header(name: string, type: string, size: number, node: TreeNode, link = ""): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const pax: Record<string, string> = {};
  if (!ascii(h, 0, 100, name)) {
    pax.path = name;
    ascii(h, 0, 100, name.replace(/[^\x20-\x7e]/g, "_").slice(-100));
  }
  octal(h, 100, 8, node.mode & 0o7777);
  if (!octal(h, 108, 8, node.uid)) pax.uid = String(node.uid);
  if (!octal(h, 116, 8, node.gid)) pax.gid = String(node.gid);
  if (!octal(h, 124, 12, size)) pax.size = String(size);
  const ns = BigInt(node.mtime);
  const secs = Number(ns / 1_000_000_000n - (ns < 0n && ns % 1_000_000_000n !== 0n ? 1n : 0n));
  if (!octal(h, 136, 12, Math.max(0, secs)) || secs < 0 || ns % 1_000_000_000n !== 0n) {
    const frac = ((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
    pax.mtime = `${secs}.${String(frac).padStart(9, "0")}`;
  }
  h[156] = type.charCodeAt(0);
  if (link && !ascii(h, 157, 100, link)) pax.linkpath = link;
  h.set(enc.encode("ustar\u000000"), 257);
  h.fill(0x20, 148, 156);
  const sum = h.reduce((a, b) => a + b, 0);
  h.set(enc.encode(`${sum.toString(8).padStart(6, "0")}\u0000 `), 148);
  if (Object.keys(pax).length === 0) return h;
  const body = enc.encode(
    Object.entries(pax)
      .map(([k, v]) => paxRecord(k, v))
      .join(""),
  );
  const plain = { ...node, mtime: "0", uid: 0, gid: 0, mode: 0o644 };
  const paxHeader = header(
    `PaxHeaders/${name.slice(-80).replace(/[^\x20-\x7e]/g, "_")}`,
    "x",
    body.length,
    plain,
  );
  const padded = new Uint8Array(Math.ceil(body.length / BLOCK) * BLOCK);
  padded.set(body);
  const out = new Uint8Array(paxHeader.length + padded.length + BLOCK);
  out.set(paxHeader, 0);
  out.set(padded, paxHeader.length);
  out.set(h, paxHeader.length + padded.length);
  return out;
}

async function write(sink: DumpSink, data: Uint8Array, signal?: AbortSignal): Promise<void> {
  if (!sink.write(data)) await once(sink as unknown as NodeJS.EventEmitter, "drain", { signal });
}

/** Writes the folder at `path` ("/" for everything) and all below it as a tar stream; returns entries written. */
export async function dumpTar(
  repo: Repository,
  snapshot: Snapshot,
  path: string,
  sink: DumpSink,
  signal?: AbortSignal,
): Promise<number> {
  let entries = 0;
  for await (const { path: p, node } of ls(repo, snapshot, path, { signal })) {
    throwIfAborted(signal);
    const name = p.replace(/^\/+/, "");
    if (node.type === "dir") {
      await write(sink, header(`${name}/`, "5", 0, node), signal);
    } else if (node.type === "symlink") {
      await write(sink, header(name, "2", 0, node, node.target ?? ""), signal);
    } else {
      await write(sink, header(name, "0", node.size, node), signal);
      let written = 0;
      for (const id of node.content ?? []) {
        const data = await repo.loadBlob("data", id, signal);
        written += data.length;
        await write(sink, data, signal);
      }
      if (written !== node.size) {
        throw new IntegrityError(`${p}: its blobs hold ${written} bytes, the tree says ${node.size}`);
      }
      const pad = (BLOCK - (written % BLOCK)) % BLOCK;
      if (pad > 0) await write(sink, new Uint8Array(pad), signal);
    }
    entries++;
  }
  await write(sink, new Uint8Array(2 * BLOCK), signal);
  return entries;
}
