/**
 * Pulled byte streams: a file's content blob by blob with read-ahead, and a web ReadableStream
 * that reads its source only when the consumer asks (back-pressure for free).
 */
import { CancelledError, IntegrityError } from "../../util/errors.ts";
import type { Repository, TreeNode } from "../types.ts";

type BlobLoader = Pick<Repository, "loadBlob">;

/** IntegrityError unless a file's blobs added up to the size its node promised. */
export function checkSize(node: TreeNode, total: number): void {
  if (total !== node.size) {
    throw new IntegrityError(`${node.name}: content is ${total} bytes, the tree says ${node.size}`);
  }
}

/**
 * A file's content blob by blob, `ahead` blobs loading ahead. IntegrityError when the blobs do not
 * add up to the node's size (the size was promised to the consumer before the first byte).
 */
export async function* fileChunks(
  repo: BlobLoader,
  node: TreeNode,
  ahead = 2,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const ids = node.content ?? [];
  const loads: Promise<Uint8Array>[] = [];
  let next = 0;
  let total = 0;
  const fill = () => {
    while (next < ids.length && loads.length <= ahead) {
      const p = repo.loadBlob("data", ids[next++]!, signal);
      p.catch(() => {}); // awaited below, or dropped when the consumer stops
      loads.push(p);
    }
  };
  // While the consumer holds a chunk, `ahead` more are loading.
  for (fill(); loads.length > 0; fill()) {
    const data = await loads.shift()!;
    total += data.length;
    if (total > node.size) break;
    yield data;
  }
  checkSize(node, total);
}

/**
 * A pull-driven web stream over `source`: each read pulls one chunk, so a slow consumer slows the
 * reading. Cancelling the stream aborts `controller` (stopping reads in flight) and ends `source`.
 */
export function pullStream(
  source: AsyncGenerator<Uint8Array>,
  controller: AbortController,
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        const r = await source.next();
        if (r.done) c.close();
        else c.enqueue(r.value);
      },
      async cancel(reason) {
        controller.abort(reason ?? new CancelledError("download cancelled"));
        await source.return(undefined).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}
