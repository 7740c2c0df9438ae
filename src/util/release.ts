/**
 * Frees a large buffer now instead of at the next garbage collection.
 *
 * Why: a backup or restore makes one or more blob-sized buffers per blob (zstd and AES-GCM
 * outputs, decrypted and decompressed blobs) that die at once. The JS heap frees them only when it
 * collects, which it does rarely for a small heap of big buffers, so a hundred MiB or more of dead
 * buffers piled up between collections (peak RSS), and with the allocator's purge on every
 * collection handed their pages back to the kernel just to fault them in again for the next blob.
 * Detaching the ArrayBuffer (ES2024 `transfer(0)`) frees its memory at once, so the allocator
 * hands the same warm block to the next blob: no pile-up, no page faults.
 *
 * The caller must hold the ONLY reference to the buffer's memory (a fresh output of zstd, a
 * cipher, a file read into a new array): every other view of it becomes empty. Small buffers are
 * freed only when the view spans all of the buffer (a slice of a shared pool, like
 * Buffer.allocUnsafe's 8 KiB slabs, never does).
 */

/** Below this the buffer may share a pool slab, and its pile-up does not matter anyway. */
export const RELEASE_MIN_BYTES = 16 * 1024;

/** True when `view` is all of its buffer (a copy made by slice(), say; never a pool slice). */
export function spansWhole(view: Uint8Array): boolean {
  return view.byteOffset === 0 && view.byteLength === view.buffer.byteLength;
}

type Detachable = ArrayBuffer & { detached?: boolean; transfer?: (length: number) => ArrayBuffer };

/** Detaches (frees) the memory under `view`; a no-op for small, shared or already freed buffers. */
export function releaseBuffer(view: Uint8Array): void {
  const buf = view.buffer as Detachable;
  if (!(buf instanceof ArrayBuffer)) return;
  if (buf.byteLength < RELEASE_MIN_BYTES && !spansWhole(view)) return;
  if (buf.detached || typeof buf.transfer !== "function") return;
  buf.transfer(0);
}
