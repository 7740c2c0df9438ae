/**
 * Sparse files without reading their holes. lseek(SEEK_DATA/SEEK_HOLE) (Linux, macOS; through
 * bun:ffi as node:fs has no such call) says where the data is; a hole is then fed to the chunker
 * as zeros that are never read from disk, and whole zero chunks are not even scanned or hashed.
 *
 * The content ids stay exactly those that reading the zeros would give (so dedup against dense
 * copies and restore, which turns zero blobs back into holes, need nothing new): FastCDC restarts
 * its hash at every cut, so every chunk that starts inside a run of zeros and fits in it has one
 * length (ZeroChunk.length, found once by chunking zeros) and one id. The hole is fed normally
 * until the chunker has cut inside it; from there on, whole zero chunks are counted and the
 * remainder fed as zeros, which is what reading would have produced.
 *
 * When the library or the call is missing (another OS, a file system without the whence values),
 * files are simply read.
 */
import { dlopen, FFIType, read } from "bun:ffi";
import type { Chunker } from "../chunk/chunker.ts";
import { chunkBuffer } from "../chunk/chunker.ts";
import type { BlobId, ChunkerParams } from "../types.ts";

interface Seek {
  lseek(fd: number, offset: number, whence: number): number;
  errno(): number;
  SEEK_SET: number;
  SEEK_DATA: number;
  SEEK_HOLE: number;
  ENXIO: number;
}

const SIGNATURE = { args: [FFIType.i32, FFIType.i64, FFIType.i32], returns: FFIType.i64 } as const;

function load(): Seek | null {
  if (process.arch !== "x64" && process.arch !== "arm64") return null;
  try {
    if (process.platform === "linux") {
      const { symbols: s } = dlopen("libc.so.6", {
        lseek: SIGNATURE,
        __errno_location: { args: [], returns: FFIType.ptr },
      });
      return {
        lseek: (fd, off, whence) => Number(s.lseek(fd, off, whence)),
        errno: () => read.i32(s.__errno_location()!, 0),
        SEEK_SET: 0,
        SEEK_DATA: 3,
        SEEK_HOLE: 4,
        ENXIO: 6,
      };
    }
    if (process.platform === "darwin") {
      const { symbols: s } = dlopen("libSystem.B.dylib", {
        lseek: SIGNATURE,
        __error: { args: [], returns: FFIType.ptr },
      });
      // Darwin numbers them the other way round from Linux (sys/unistd.h).
      return {
        lseek: (fd, off, whence) => Number(s.lseek(fd, off, whence)),
        errno: () => read.i32(s.__error()!, 0),
        SEEK_SET: 0,
        SEEK_DATA: 4,
        SEEK_HOLE: 3,
        ENXIO: 6,
      };
    }
  } catch {
    // No usable C library: sparse files are read like any other.
  }
  return null;
}

let seek: Seek | null | undefined;

/** Where the next data is, seen from a file position. */
export interface Region {
  /** Bytes of hole starting at the position (0 when data starts there). */
  hole: number;
  /** Bytes of data after the hole, before the next hole (Infinity: read to the end). */
  data: number;
}

export interface HoleMap {
  /**
   * The region at `pos` (the file's current offset); leaves the file offset at the data's start.
   * Never throws: after any unexpected answer it reports data to the end (plain reading).
   */
  next(pos: number): Region;
}

/**
 * A hole map for an open file that looks sparse (fewer blocks allocated than its length), or null
 * when it does not or holes cannot be found on this system. `blocks` is st_blocks (512 B units).
 */
export function holeMap(fd: number | undefined, size: number, blocks: number): HoleMap | null {
  if (fd === undefined || size < 64 * 1024 || blocks * 512 >= size) return null;
  if (seek === undefined) seek = load();
  const s = seek;
  if (!s) return null;
  let broken = false;
  const plain: Region = { hole: 0, data: Number.POSITIVE_INFINITY };
  return {
    next(pos) {
      if (broken || pos >= size) return plain;
      let data = s.lseek(fd, pos, s.SEEK_DATA);
      if (data < 0) {
        // ENXIO: no data at or after pos, the rest of the file (as seen at open) is a hole.
        if (s.errno() !== s.ENXIO) return stop(pos);
        data = size;
      }
      const hole = data < size ? s.lseek(fd, data, s.SEEK_HOLE) : -1;
      if (data < pos || s.lseek(fd, data, s.SEEK_SET) !== data) return stop(pos);
      return { hole: data - pos, data: hole > data ? hole - data : Number.POSITIVE_INFINITY };
    },
  };
  /** Gives up on holes: back to `pos`, read from there on. */
  function stop(pos: number): Region {
    broken = true;
    s!.lseek(fd!, pos, s!.SEEK_SET);
    return plain;
  }
}

/** The chunk a run of zeros is cut into, for one set of chunker parameters. */
interface ZeroChunk {
  length: number;
  zeros: Uint8Array;
}

const zeroChunks = new Map<string, ZeroChunk>();

function zeroChunk(params: ChunkerParams): ZeroChunk {
  const key = `${params.seed}:${params.min}:${params.avg}:${params.max}`;
  let z = zeroChunks.get(key);
  if (!z) {
    const first = chunkBuffer(params, new Uint8Array(params.max + 1))[0]!;
    z = { length: first.length, zeros: new Uint8Array(first.length) };
    zeroChunks.set(key, z);
  }
  return z;
}

/** What skipHole needs from the file's chunk loop. */
export interface ChunkSink {
  /** Hashes and stores chunk views (as reading would), appending their ids to content. */
  store(views: Uint8Array[]): Promise<void>;
  content: BlobId[];
}

const FEED = 1024 * 1024;

/** Feeds `n` zeros to the chunker as if they had been read. */
async function feedZeros(chunker: Chunker, n: number, sink: ChunkSink): Promise<void> {
  for (let left = n; left > 0; ) {
    const space = chunker.writable(Math.min(FEED, left));
    space.fill(0);
    left -= space.length;
    await sink.store(chunker.commit(space.length));
  }
}

/**
 * Consumes a hole of `length` bytes: the same chunks (and ids) as reading `length` zeros, without
 * reading them and hashing each whole zero chunk only once.
 */
export async function skipHole(
  chunker: Chunker,
  params: ChunkerParams,
  length: number,
  sink: ChunkSink,
): Promise<void> {
  // Until the chunker cuts inside the hole, bytes from before it are still pending: feed zeros.
  let fed = 0;
  while (fed < length && chunker.buffered > fed) {
    const n = Math.min(FEED, length - fed);
    await feedZeros(chunker, n, sink);
    fed += n;
  }
  if (chunker.buffered > fed) return; // the hole ended first: all of it was fed
  // Everything pending is zeros of this hole, starting at a cut: count whole zero chunks.
  const z = zeroChunk(params);
  const run = chunker.buffered + (length - fed);
  const whole = Math.floor(run / z.length);
  if (whole === 0) return feedZeros(chunker, length - fed, sink);
  chunker.clear();
  await sink.store([z.zeros]);
  const id = sink.content[sink.content.length - 1]!;
  for (let i = 1; i < whole; i++) sink.content.push(id);
  await feedZeros(chunker, run - whole * z.length, sink);
}
