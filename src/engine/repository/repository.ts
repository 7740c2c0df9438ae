/**
 * RepositoryImpl: the Repository of src/engine/types.ts over a Backend, plus what upkeep (prune,
 * forget, stats, keys, check) needs. Created by initRepository/openRepository (open.ts).
 */
import type { Backend } from "../../storage/backend.ts";
import { CancelledError, NotFoundError, throwIfAborted, wrapError } from "../../util/errors.ts";
import { hmacSha256Hex, sha256Hex } from "../crypto/aead.ts";
import type { MasterKeys } from "../crypto/keys.ts";
import { loadTree, saveTree } from "../tree.ts";
import type { BlobId, BlobType, ChunkerParams, Repository, Snapshot, SnapshotInput, Tree } from "../types.ts";
import { type AppDocument, readAppDocument, writeAppDocument } from "./app-documents.ts";
import { openBlob, SubkeyCache } from "./blob-codec.ts";
import type { BlobIndex, IndexEntry, PackInfo } from "./blob-index.ts";
import type { RepoConfig } from "./config.ts";
import { encodeIndex, type IndexPack } from "./index-file.ts";
import type { HeldLock } from "./lock.ts";
import { type PackEntry, packName } from "./pack-format.ts";
import type { PackSource } from "./pack-reader.ts";
import type { FinishedPack } from "./seal-core.ts";
import { SealPool } from "./seal-pool.ts";
import {
  encodeSnapshot,
  listSnapshotIds,
  loadAllSnapshots,
  loadSnapshot,
  type OnDamagedSnapshot,
  parseSnapshotRef,
  pickSnapshot,
  pickSnapshotId,
  type SnapshotFilter,
} from "./snapshots.ts";
import { TreeWindow } from "./tree-window.ts";

const MiB = 1024 * 1024;
/** An index file is also written once this many blobs are unindexed (their entries are held until then). */
const INDEX_EVERY_BLOBS = 100_000;

export interface RepositoryTuning {
  /** zstd level, 0 = off. */
  level: number;
  /** Seal worker threads; 0 seals inline. */
  workers: number;
  packSize: number;
  /** Write an index file once this many packs are unindexed (bounds what a crash costs). */
  indexEveryPacks: number;
  /**
   * Also write one once the oldest unindexed pack is this old (ms): on a slow uplink 64 packs take
   * long, and a crash would leave all of them to upload again (restic: 10 minutes).
   */
  indexEveryMs: number;
  /** close() also closes the backend (the Repository contract); false lets tests reuse it. */
  ownsBackend: boolean;
}

export interface RepositoryState {
  backend: Backend;
  keys: MasterKeys;
  config: RepoConfig;
  /** Id of the key object that opened the repository (null when unencrypted). */
  keyId: string | null;
  index: BlobIndex;
  /** Index files loaded at open. */
  indexFiles: string[];
  /** Problems met while loading index files; check reports them. */
  loadErrors: { object: string; message: string }[];
  lock: HeldLock | null;
}

export class RepositoryImpl implements Repository, PackSource {
  readonly id: string;
  readonly chunker: ChunkerParams;
  readonly encrypted: boolean;
  readonly backend: Backend;
  readonly index: BlobIndex;
  readonly config: RepoConfig;
  readonly loadErrors: { object: string; message: string }[];
  readonly indexFiles: string[];
  keyId: string | null;
  private readonly keys: MasterKeys;
  private lock: HeldLock | null;
  private pool: SealPool | null = null;
  /** Aborted by close(): pack uploads still running then stop and remove their partial object. */
  private readonly closing = new AbortController();
  private readonly pending = new Set<string>();
  private unindexed: IndexPack[] = [];
  /** When the oldest pack in `unindexed` was stored (Date.now()). */
  private unindexedSince = 0;
  private indexWrite: Promise<void> = Promise.resolve();
  private readonly subkeys = new SubkeyCache();
  private treeWindow: TreeWindow | null = null;

  constructor(
    state: RepositoryState,
    private readonly tuning: RepositoryTuning,
  ) {
    this.backend = state.backend;
    this.keys = state.keys;
    this.config = state.config;
    this.keyId = state.keyId;
    this.index = state.index;
    this.indexFiles = state.indexFiles;
    this.loadErrors = state.loadErrors;
    this.lock = state.lock;
    this.id = state.config.id;
    this.chunker = state.config.chunker;
    this.encrypted = state.config.encryption;
  }

  /** The master keys, for upkeep modules (locks, key management). Never log them. */
  get masterKeys(): MasterKeys {
    return this.keys;
  }

  blobId(plaintext: Uint8Array): BlobId {
    return hmacSha256Hex(this.keys.mac, plaintext);
  }

  get storesXattrs(): boolean {
    return this.config.version >= 2;
  }

  hasBlob(type: BlobType, id: BlobId): boolean {
    return this.index.has(type, id) || this.pending.has(`${type}:${id}`);
  }

  private sealPool(): SealPool {
    this.pool ??= new SealPool({
      encKey: this.keys.encrypt,
      macKey: this.keys.mac,
      packSize: this.tuning.packSize,
      workers: this.tuning.workers,
      // Enough queued for both workers to stay busy; more is only memory (see backup-engine.md).
      maxQueuedBytes: Math.max(4 * MiB, Math.min(this.tuning.packSize / 2, 8 * MiB)),
      maxPendingPacks: 2,
      maxUploads: 2,
      onPack: (pack) => this.storePack(pack),
    });
    return this.pool;
  }

  /** Bytes held for saving: queued plaintext and finished packs awaiting upload. */
  bufferedBytes(): number {
    return this.pool?.bufferedBytes() ?? 0;
  }

  /** Copies plaintext before returning its promise (the seal pool stages it synchronously). */
  async saveBlob(type: BlobType, id: BlobId, plaintext: Uint8Array, signal?: AbortSignal) {
    throwIfAborted(signal);
    const key = `${type}:${id}`;
    if (this.index.has(type, id) || this.pending.has(key)) return { added: false, storedBytes: 0 };
    this.pending.add(key);
    try {
      const storedBytes = await this.sealPool().submit(type, id, plaintext, this.tuning.level, signal);
      return { added: true, storedBytes };
    } catch (e) {
      this.pending.delete(key);
      throw e;
    }
  }

  /** Upload first, then index: an entry never names a pack that is not stored. */
  private async storePack(pack: FinishedPack): Promise<void> {
    await this.backend.put(packName(pack.id), pack.bytes, { signal: this.closing.signal });
    const info: PackInfo = { id: pack.id, size: pack.bytes.byteLength, salt: pack.salt };
    const n = this.index.addPack(info);
    for (const e of pack.entries) {
      this.index.add(n, e);
      this.pending.delete(`${e.type}:${e.id}`);
    }
    if (this.unindexed.length === 0) this.unindexedSince = Date.now();
    this.unindexed.push({ ...info, entries: pack.entries });
    const old = Date.now() - this.unindexedSince >= this.tuning.indexEveryMs;
    const blobs = this.unindexed.reduce((n, p) => n + p.entries.length, 0);
    if (this.unindexed.length >= this.tuning.indexEveryPacks || blobs >= INDEX_EVERY_BLOBS || old) {
      await this.lock?.verify();
      await this.writeIndex();
    }
  }

  /** Writes one index file for every pack uploaded since the last one (serialised). */
  private writeIndex(signal?: AbortSignal): Promise<void> {
    const run = async () => {
      const packs = this.unindexed;
      if (packs.length === 0) return;
      this.unindexed = [];
      try {
        const bytes = encodeIndex({ supersedes: [], packs }, this.keys);
        const id = sha256Hex(bytes);
        await this.backend.put(`index/${id}`, bytes, { signal });
        this.indexFiles.push(id);
      } catch (e) {
        this.unindexed = packs.concat(this.unindexed);
        throw wrapError("write index", e);
      }
    };
    this.indexWrite = this.indexWrite.catch(() => {}).then(run);
    return this.indexWrite;
  }

  async flush(signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    if (this.pool) await this.pool.flush(signal);
    // An index naming packs that a prune removed (after judging our lock stale) would poison
    // every later backup's dedup: confirm the lock before indexing.
    if (this.unindexed.length > 0) await this.lock?.verify(signal);
    await this.writeIndex(signal);
  }

  /**
   * Writes an index file for the packs already uploaded (not those still being sealed or sent),
   * after confirming the lock; best effort, never throws. For a run that stops early (cancelled or
   * failed): its uploaded packs then serve the next backup instead of being uploaded again.
   */
  async indexUploaded(): Promise<void> {
    if (this.unindexed.length === 0) return;
    // The caller's signal has usually fired already; bound the two small writes on their own.
    const signal = AbortSignal.timeout(30_000);
    try {
      await this.lock?.verify(signal);
      await this.writeIndex(signal);
    } catch {
      // The packs stay unindexed: harmless, as after a crash.
    }
  }

  /** Where a blob is stored, or undefined. */
  lookup(type: BlobType, id: BlobId): IndexEntry | undefined {
    return this.index.get(type, id);
  }

  packInfo(id: string): PackInfo | undefined {
    return this.index.pack(id);
  }

  async loadBlob(type: BlobType, id: BlobId, signal?: AbortSignal): Promise<Uint8Array> {
    throwIfAborted(signal);
    if (!this.index.has(type, id) && this.pending.has(`${type}:${id}`)) await this.flush(signal);
    const e = this.index.get(type, id);
    if (!e) throw new NotFoundError(`${type} blob ${id} not found in the index`);
    const pack = this.index.pack(e.pack)!;
    const stored =
      type === "tree"
        ? await this.trees.stored(e, signal)
        : await this.backend.get(packName(e.pack), { offset: e.offset, length: e.length, signal });
    return this.openStored(pack, e, stored);
  }

  /** Tree blobs are read a window at a time (tree-window.ts). */
  private get trees(): TreeWindow {
    this.treeWindow ??= new TreeWindow({
      index: this.index,
      readRange: (pack, offset, length, signal) =>
        this.backend.get(packName(pack), { offset, length, signal }),
    });
    return this.treeWindow;
  }

  /** Where a blob is stored (PackSource), flushing first when it is only queued by this process. */
  async locate(type: BlobType, id: BlobId, signal?: AbortSignal): Promise<IndexEntry | undefined> {
    const e = this.index.get(type, id);
    if (e || !this.pending.has(`${type}:${id}`)) return e;
    await this.flush(signal);
    return this.index.get(type, id);
  }

  /** Streams stored bytes of a pack range (PackSource), unchecked: open each blob with openStoredBlob. */
  streamPackRange(pack: string, offset: number, length: number, signal?: AbortSignal) {
    return this.backend.getStream(packName(pack), { offset, length, signal, reuseChunks: true });
  }

  /** openStored for an index entry (PackSource). NotFoundError when its pack is unknown. */
  openStoredBlob(e: IndexEntry, stored: Uint8Array): Uint8Array {
    const pack = this.index.pack(e.pack);
    if (!pack) throw new NotFoundError(`pack ${e.pack} of blob ${e.id} not in the index`);
    return this.openStored(pack, e, stored);
  }

  /** Decrypts, decompresses and verifies a stored blob. IntegrityError names blob and pack. */
  openStored(pack: { id: string; salt: Uint8Array }, e: PackEntry, stored: Uint8Array): Uint8Array {
    return openBlob(this.keys, this.subkeys, pack, e, stored);
  }

  async saveSnapshot(snapshot: SnapshotInput, signal?: AbortSignal): Promise<Snapshot> {
    throwIfAborted(signal);
    const { id, bytes } = encodeSnapshot(snapshot, this.keys);
    await this.lock?.verify(signal);
    await this.backend.put(`snapshots/${id}`, bytes, { signal });
    return { ...snapshot, id };
  }

  /**
   * All snapshots, oldest first. With `onDamaged`, unreadable snapshot objects are reported to it
   * and left out; without, the first one fails the listing (see loadAllSnapshots).
   */
  listSnapshots(signal?: AbortSignal, onDamaged?: OnDamagedSnapshot): Promise<Snapshot[]> {
    return loadAllSnapshots(this.backend, this.keys, signal, onDamaged);
  }

  /**
   * Resolves "latest" (the newest readable snapshot matching `filter`; damaged ones are skipped
   * and reported to `onDamaged` when given), a full id or a unique prefix of ≥ 8 hex characters
   * (matched against object names, then only that snapshot is read, so its own damage is the
   * error). ValidationError for a malformed or ambiguous ref, NotFoundError when nothing matches.
   */
  async findSnapshot(
    ref: string,
    signal?: AbortSignal,
    filter?: SnapshotFilter,
    onDamaged?: OnDamagedSnapshot,
  ): Promise<Snapshot> {
    const parsed = parseSnapshotRef(ref);
    if (parsed === "latest") {
      return pickSnapshot(await this.listSnapshots(signal, onDamaged ?? (() => {})), parsed, filter);
    }
    const id = pickSnapshotId(await listSnapshotIds(this.backend, signal), parsed);
    return loadSnapshot(this.backend, this.keys, id, signal);
  }

  /** The newest version of an application's own document (app-documents.ts), or null when none. */
  readAppDocument(app: string, signal?: AbortSignal): Promise<AppDocument | null> {
    return readAppDocument(this.backend, this.keys, app, signal);
  }

  /** Stores an application's document (`written`: ISO time); false when the stored one is the same. */
  writeAppDocument(app: string, text: string, written: string, signal?: AbortSignal): Promise<boolean> {
    return writeAppDocument(this.backend, this.keys, app, text, written, signal);
  }

  saveTree(tree: Tree, signal?: AbortSignal): Promise<BlobId> {
    return saveTree(this, tree, signal);
  }

  loadTree(id: BlobId, signal?: AbortSignal): Promise<Tree> {
    return loadTree(this, id, signal);
  }

  /** Stops workers and releases the lock. Unflushed blobs are dropped (call flush first). */
  async close(): Promise<void> {
    this.closing.abort(new CancelledError("repository closed"));
    const pool = this.pool;
    this.pool = null;
    await pool?.close();
    const lock = this.lock;
    this.lock = null;
    await lock?.release();
    if (this.tuning.ownsBackend) await this.backend.close();
  }
}
