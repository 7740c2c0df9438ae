/** Streams one file of a snapshot to a writable (stdout, an HTTP response, a file). */
import { once } from "node:events";
import { throwIfAborted, ValidationError } from "../util/errors.ts";
import { findPath } from "./ls.ts";
import type { Repository, Snapshot } from "./types.ts";

/** The part of a Node writable stream dump() needs (process.stdout and fs streams fit). */
export interface DumpSink {
  write(chunk: Uint8Array): boolean;
  once(event: "drain", listener: () => void): unknown;
}

/**
 * Writes the content of the file at `filePath` blob by blob (each authenticated by loadBlob),
 * honouring the sink's back-pressure. Returns the bytes written. NotFoundError for a missing path,
 * ValidationError when it is a directory or a symlink.
 */
export async function dump(
  repo: Repository,
  snapshot: Snapshot,
  filePath: string,
  sink: DumpSink,
  signal?: AbortSignal,
): Promise<number> {
  const { node } = await findPath(repo, snapshot, filePath, signal);
  if (node?.type !== "file") {
    throw new ValidationError(
      `${filePath}: is ${node ? `a ${node.type}` : "the root directory"}, not a file`,
    );
  }
  let written = 0;
  for (const id of node.content ?? []) {
    throwIfAborted(signal);
    const data = await repo.loadBlob("data", id, signal);
    written += data.length;
    if (!sink.write(data)) await once(sink as unknown as NodeJS.EventEmitter, "drain", { signal });
  }
  return written;
}
