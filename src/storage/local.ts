import { randomBytes } from "node:crypto";
import { type FileHandle, mkdir, open, readdir, rename, stat, unlink } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { CancelledError, throwIfAborted, ValidationError } from "../util/errors.ts";
import type { Backend, GetOptions, ObjectInfo, PutOptions } from "./backend.ts";
import { DIRECT_MIN, openDirect, refusesDirect, writeDirect } from "./local-direct.ts";
import { mapFsError } from "./local-errors.ts";
import { TEMP_PREFIX, validateName, validatePrefix, validateRange } from "./names.ts";

/** Size of each read when streaming a file out; big enough for throughput, small for memory. */
const READ_CHUNK = 1024 * 1024;

/** A temp file older than this is a leftover of a killed write (a live one is seconds old). */
const STALE_TEMP_MS = 60 * 60 * 1000;

/**
 * A repository in a local folder. Each object is one file; "/" in names maps to subfolders,
 * created on demand. Writes go to a temp file in the target's folder, are fsynced, renamed over
 * the target and the folder is fsynced, so a crash leaves either the old object or the new one.
 */
export class LocalBackend implements Backend {
  readonly location: string;
  readonly root: string;
  /** Folders already swept of stale temp files by this instance. */
  private readonly swept = new Set<string>();
  /** Large objects bypass the page cache (local-direct.ts) until the file system refuses it once. */
  private direct: boolean;

  constructor(root: string, options: { direct?: boolean } = {}) {
    if (root === "") throw new ValidationError("local repository path is empty");
    this.root = resolve(root);
    this.location = this.root;
    this.direct = options.direct ?? true;
  }

  /** The file path for an object name, refusing anything that would escape the root. */
  private pathOf(name: string): string {
    validateName(name);
    const path = resolve(this.root, ...name.split("/"));
    if (!path.startsWith(this.root + sep))
      throw new ValidationError(`object name ${JSON.stringify(name)} escapes the root`);
    return path;
  }

  async put(
    name: string,
    data: Uint8Array | ReadableStream<Uint8Array>,
    options?: PutOptions,
  ): Promise<void> {
    const path = this.pathOf(name);
    const context = `write ${name} in ${this.root}`;
    throwIfAborted(options?.signal);
    const dir = dirname(path);
    const temp = join(dir, `${TEMP_PREFIX}${randomBytes(8).toString("hex")}`);
    let handle: FileHandle | undefined;
    try {
      const created = await mkdir(dir, { recursive: true });
      if (created !== undefined) await syncNewDirs(created, dir);
      if (data instanceof Uint8Array && data.byteLength >= DIRECT_MIN && this.direct) {
        handle = await this.writeLarge(temp, data, options);
      } else {
        handle = await open(temp, "wx", 0o600);
        if (data instanceof Uint8Array) await writeAll(handle, data, 0, options);
        else await writeStream(handle, data, options);
      }
      await handle.sync();
      await handle.close();
      handle = undefined;
      throwIfAborted(options?.signal);
      await rename(temp, path);
      await syncDir(dir);
      await this.sweepStaleTemps(dir);
    } catch (err) {
      await handle?.close().catch(() => {});
      await unlink(temp).catch(() => {});
      if (!(data instanceof Uint8Array)) await data.cancel(err).catch(() => {});
      throw mapFsError(context, err, { reading: false });
    }
  }

  /**
   * Writes a large object to `temp` bypassing the page cache; where the file system refuses that,
   * through it (and every later write of this instance too). Returns the open handle.
   */
  private async writeLarge(temp: string, data: Uint8Array, options?: PutOptions): Promise<FileHandle> {
    const direct = await openDirect(temp, 0o600);
    if (direct) {
      try {
        await writeDirect(direct, data, options);
        return direct;
      } catch (err) {
        await direct.close().catch(() => {});
        if (!refusesDirect(err)) throw err;
        await unlink(temp);
      }
    }
    this.direct = false;
    const handle = await open(temp, "wx", 0o600);
    try {
      await writeAll(handle, data, 0, options);
    } catch (err) {
      await handle.close().catch(() => {});
      throw err;
    }
    return handle;
  }

  /**
   * Removes temp files over an hour old from `dir`, once per folder per instance: a write killed
   * before its rename (SIGKILL, power loss) leaves one, which no reader lists and nothing else
   * would delete. Best effort, never throws.
   */
  private async sweepStaleTemps(dir: string): Promise<void> {
    if (this.swept.has(dir)) return;
    this.swept.add(dir);
    try {
      const cutoff = Date.now() - STALE_TEMP_MS;
      for (const name of await readdir(dir)) {
        if (!name.startsWith(TEMP_PREFIX)) continue;
        const temp = join(dir, name);
        const st = await stat(temp).catch(() => null);
        if (st?.isFile() && st.mtimeMs < cutoff) await unlink(temp).catch(() => {});
      }
    } catch {
      // A folder that cannot be listed keeps its leftovers.
    }
  }

  async get(name: string, options?: GetOptions): Promise<Uint8Array> {
    const path = this.pathOf(name);
    validateRange(options?.offset, options?.length);
    throwIfAborted(options?.signal);
    let handle: FileHandle | undefined;
    try {
      handle = await open(path, "r");
      const { size } = await handle.stat();
      const { start, end } = clampRange(size, options);
      const out = new Uint8Array(end - start);
      let at = 0;
      while (at < out.byteLength) {
        throwIfAborted(options?.signal);
        const { bytesRead } = await handle.read(out, at, out.byteLength - at, start + at);
        if (bytesRead === 0) break; // truncated underneath us: return what exists
        at += bytesRead;
      }
      return at === out.byteLength ? out : out.subarray(0, at);
    } catch (err) {
      throw mapFsError(`read ${name} in ${this.root}`, err, { reading: true });
    } finally {
      await handle?.close().catch(() => {});
    }
  }

  async getStream(name: string, options?: GetOptions): Promise<ReadableStream<Uint8Array>> {
    const path = this.pathOf(name);
    validateRange(options?.offset, options?.length);
    throwIfAborted(options?.signal);
    const context = `read ${name} in ${this.root}`;
    let handle: FileHandle;
    let range: { start: number; end: number };
    try {
      handle = await open(path, "r");
      range = clampRange((await handle.stat()).size, options);
    } catch (err) {
      throw mapFsError(context, err, { reading: true });
    }
    return fileStream(handle, range, context, options?.signal, options?.reuseChunks === true);
  }

  async stat(name: string, options?: { signal?: AbortSignal }): Promise<ObjectInfo> {
    const path = this.pathOf(name);
    throwIfAborted(options?.signal);
    try {
      const info = await stat(path);
      if (!info.isFile()) throw Object.assign(new Error("not a file"), { code: "ENOENT" });
      return { name, size: info.size };
    } catch (err) {
      throw mapFsError(`stat ${name} in ${this.root}`, err, { reading: true });
    }
  }

  async *list(prefix: string, options?: { signal?: AbortSignal }): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    // Walk only the deepest folder the prefix names fully; filter the rest by string prefix.
    const base = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/") + 1) : "";
    for await (const info of this.walk(base, options?.signal)) {
      if (info.name.startsWith(prefix)) yield info;
    }
  }

  private async *walk(base: string, signal?: AbortSignal): AsyncGenerator<ObjectInfo> {
    throwIfAborted(signal);
    const dir = base === "" ? this.root : join(this.root, ...base.slice(0, -1).split("/"));
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      const mapped = mapFsError(`list ${base || "/"} in ${this.root}`, err, { reading: true });
      if (mapped.name === "NotFoundError") return; // an absent folder is an empty listing
      throw mapped;
    }
    for (const entry of entries) {
      if (entry.name.startsWith(TEMP_PREFIX)) continue;
      const name = `${base}${entry.name}`;
      if (entry.isDirectory()) {
        yield* this.walk(`${name}/`, signal);
      } else if (entry.isFile()) {
        const size = await this.sizeOf(name);
        if (size !== undefined) yield { name, size };
      }
    }
  }

  /** Size of a listed file, or undefined when it vanished between readdir and stat. */
  private async sizeOf(name: string): Promise<number | undefined> {
    try {
      return (await stat(join(this.root, ...name.split("/")))).size;
    } catch (err) {
      const mapped = mapFsError(`stat ${name} in ${this.root}`, err, { reading: true });
      if (mapped.name === "NotFoundError") return undefined;
      throw mapped;
    }
  }

  async delete(name: string, options?: { signal?: AbortSignal }): Promise<void> {
    const path = this.pathOf(name);
    throwIfAborted(options?.signal);
    try {
      await unlink(path);
    } catch (err) {
      const mapped = mapFsError(`delete ${name} in ${this.root}`, err, { reading: true });
      if (mapped.name !== "NotFoundError") throw mapped;
    }
  }

  async close(): Promise<void> {}
}

export function createLocalBackend(root: string): LocalBackend {
  return new LocalBackend(root);
}

function clampRange(size: number, options?: GetOptions): { start: number; end: number } {
  const start = Math.min(options?.offset ?? 0, size);
  const end = options?.length === undefined ? size : Math.min(size, start + options.length);
  return { start, end };
}

async function writeAll(
  handle: FileHandle,
  bytes: Uint8Array,
  position: number,
  options?: PutOptions,
): Promise<number> {
  let at = 0;
  while (at < bytes.byteLength) {
    throwIfAborted(options?.signal);
    const { bytesWritten } = await handle.write(bytes, at, bytes.byteLength - at, position + at);
    at += bytesWritten;
    options?.onProgress?.(position + at);
  }
  return at;
}

async function writeStream(
  handle: FileHandle,
  stream: ReadableStream<Uint8Array>,
  options?: PutOptions,
): Promise<void> {
  const reader = stream.getReader();
  let position = 0;
  try {
    for (;;) {
      throwIfAborted(options?.signal);
      const { done, value } = await reader.read();
      if (done) return;
      position += await writeAll(handle, value, position, options);
    }
  } catch (err) {
    await reader.cancel(err).catch(() => {});
    throw err;
  } finally {
    reader.releaseLock();
  }
}

/**
 * Makes the entries of freshly created folders durable (`created` is the first folder mkdir made,
 * `dir` the deepest): without it a power loss could drop a new data/<xx> folder, and the packs
 * in it, though the index written after them survived.
 */
async function syncNewDirs(created: string, dir: string): Promise<void> {
  const stop = dirname(created);
  for (let d = dir; d !== stop; ) {
    d = dirname(d);
    await syncDir(d);
  }
}

/** Makes the rename durable; some file systems refuse fsync on folders, which we tolerate. */
async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== "EINVAL" && code !== "EISDIR" && code !== "ENOTSUP" && code !== "EBADF") throw err;
  } finally {
    await handle?.close().catch(() => {});
  }
}

/**
 * A pull-based stream over [start, end) of an open file; closes the handle when done. With
 * `reuse`, every chunk is read into the same buffer (GetOptions.reuseChunks): pulls happen only
 * when the reader asks for the next chunk (highWaterMark 0), after it is done with the last one.
 */
function fileStream(
  handle: FileHandle,
  range: { start: number; end: number },
  context: string,
  signal: AbortSignal | undefined,
  reuse: boolean,
): ReadableStream<Uint8Array> {
  let position = range.start;
  let closed = false;
  let spare: Uint8Array | null = null;
  const bufferFor = (want: number): Uint8Array => {
    if (!reuse) return new Uint8Array(want);
    spare ??= new Uint8Array(Math.min(READ_CHUNK, range.end - range.start));
    return spare.subarray(0, want);
  };
  const finish = async () => {
    if (closed) return;
    closed = true;
    await handle.close().catch(() => {});
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          if (signal?.aborted) throw new CancelledError("cancelled", { cause: signal.reason });
          const want = Math.min(READ_CHUNK, range.end - position);
          if (want <= 0) {
            await finish();
            controller.close();
            return;
          }
          const buffer = bufferFor(want);
          const { bytesRead } = await handle.read(buffer, 0, want, position);
          if (bytesRead === 0) {
            await finish();
            controller.close();
            return;
          }
          position += bytesRead;
          controller.enqueue(bytesRead === want ? buffer : buffer.subarray(0, bytesRead));
        } catch (err) {
          await finish();
          controller.error(mapFsError(context, err, { reading: true }));
        }
      },
      cancel: finish,
    },
    { highWaterMark: 0 },
  );
}
