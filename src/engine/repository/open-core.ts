/** Messages between open-pool.ts and open-worker.ts, and the opening both sides share. */
import type { MasterKeys } from "../crypto/keys.ts";
import { openBlob, SubkeyCache } from "./blob-codec.ts";
import type { PackEntry } from "./pack-format.ts";

export type OpenRequest =
  | { kind: "init"; keys: MasterKeys }
  | {
      kind: "open";
      seq: number;
      pack: string;
      salt: Uint8Array;
      entry: PackEntry;
      /** The stored blob: the first `length` bytes of this buffer (transferred). */
      stored: ArrayBuffer;
      length: number;
    };

/** `spare`: the request's buffer, handed back for the next blob (when the plaintext is not in it). */
export type OpenReply =
  | { seq: number; ok: true; plain: Uint8Array; spare?: ArrayBuffer }
  | { seq: number; ok: false; message: string; spare?: ArrayBuffer };

const subkeys = new SubkeyCache();

/** Opens one stored blob with this thread's subkey cache (openBlob's checks and errors). */
export function openOne(
  keys: MasterKeys,
  req: { pack: string; salt: Uint8Array; entry: PackEntry },
  stored: Uint8Array,
): Uint8Array {
  return openBlob(keys, subkeys, { id: req.pack, salt: req.salt }, req.entry, stored);
}
