/** Opening a stored blob: authenticate and decrypt, decompress, check its keyed id. */
import { IntegrityError } from "../../util/errors.ts";
import { releaseBuffer } from "../../util/release.ts";
import { gcmOpen, hmacSha256Hex } from "../crypto/aead.ts";
import type { MasterKeys } from "../crypto/keys.ts";
import { decompress } from "./compression.ts";
import { type PackEntry, packSubkey } from "./pack-format.ts";

/** Caches pack subkeys: a restore reads many blobs from the same few packs. */
export class SubkeyCache {
  private readonly map = new Map<string, Uint8Array>();
  constructor(private readonly limit = 1024) {}

  get(encKey: Uint8Array, pack: string, salt: Uint8Array): Uint8Array {
    let key = this.map.get(pack);
    if (!key) {
      key = packSubkey(encKey, salt);
      if (this.map.size >= this.limit) this.map.delete(this.map.keys().next().value!);
      this.map.set(pack, key);
    }
    return key;
  }
}

/**
 * Plaintext of the blob `e` stored in `pack` as `stored`. IntegrityError (naming blob and pack)
 * when it fails authentication, decompression or its id check.
 */
export function openBlob(
  keys: MasterKeys,
  cache: SubkeyCache,
  pack: { id: string; salt: Uint8Array },
  e: PackEntry,
  stored: Uint8Array,
): Uint8Array {
  const where = `${e.type} blob ${e.id} in pack ${pack.id}`;
  try {
    if (stored.byteLength !== e.length) throw new IntegrityError("stored length mismatch");
    const data = keys.encrypt ? gcmOpen(cache.get(keys.encrypt, pack.id, pack.salt), stored) : stored;
    const plain = decompress(data, e.compression, e.rawLength);
    // The decrypted frame is dead once decompressed (and ours alone): free it now.
    if (data.buffer !== stored.buffer && plain !== data) releaseBuffer(data);
    if (plain.byteLength !== e.rawLength) throw new IntegrityError("length mismatch");
    if (hmacSha256Hex(keys.mac, plain) !== e.id) throw new IntegrityError("content does not match its id");
    return plain;
  } catch (cause) {
    throw new IntegrityError(`${where}: ${(cause as Error).message}`, { cause });
  }
}
