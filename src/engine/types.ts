/**
 * Shared vocabulary of the engine: the shapes the repository layer (src/engine/repository/),
 * the archiver and restorer (src/engine/backup.ts, restore.ts, ...) and the CLI exchange.
 * Changing a shape here is a repository format change: update docs/repository-format.md.
 */

/** 64 lowercase hex chars: HMAC-SHA-256 (repository secret) of the blob's plaintext. */
export type BlobId = string;
/** 64 lowercase hex chars: SHA-256 of a stored object's bytes (packs, index files, snapshots). */
export type ObjectId = string;

export type BlobType = "data" | "tree";

/** How blobs are compressed before encryption. "auto" = zstd level 3; "max" = zstd level 19. */
export type CompressionMode = "off" | "auto" | "max" | number;

export interface ChunkerParams {
  /** Minimum chunk size in bytes. */
  min: number;
  /** Target average chunk size in bytes (a power of two). */
  avg: number;
  /** Maximum chunk size in bytes. */
  max: number;
  /** Hex seed for the gear table, random per repository so chunk boundaries leak nothing. */
  seed: string;
}

export type NodeType = "file" | "dir" | "symlink";

/** One entry of a directory tree, as stored in a tree blob. */
export interface TreeNode {
  /** A single path component: never "", ".", "..", and never containing "/" or NUL. */
  name: string;
  type: NodeType;
  /** Permission bits and file type bits as in stat(2) st_mode & 0o7777. */
  mode: number;
  uid: number;
  gid: number;
  /** Modification time in nanoseconds since the epoch, as a decimal string (exceeds 2^53). */
  mtime: string;
  /** Change time (ns, decimal string); used only to detect changes, never restored. */
  ctime: string;
  inode: number;
  /** Device id; with inode identifies the file for incremental backups. */
  device: number;
  /** Files: content size in bytes. 0 for other types. */
  size: number;
  /** Files: ordered data blob ids whose concatenation is the content. */
  content?: BlobId[];
  /** Directories: the tree blob id of the subdirectory. */
  subtree?: BlobId;
  /** Symlinks: the link target, verbatim (not followed). */
  target?: string;
  /**
   * Extended attributes (repository format 2 and later), sorted by name; value is base64. Absent
   * when there are none or they were not read (--no-xattrs, format 1 repositories).
   */
  xattrs?: { name: string; value: string }[];
}

/** A directory listing: nodes sorted by name (byte order of UTF-8). */
export interface Tree {
  nodes: TreeNode[];
}

export interface SnapshotSummary {
  files_new: number;
  files_changed: number;
  files_unmodified: number;
  dirs: number;
  bytes_processed: number;
  bytes_added: number;
  bytes_stored: number;
  duration_ms: number;
  errors: FileError[];
}

/** What the archiver hands to the repository to record; the id is assigned on save. */
export interface SnapshotInput {
  time: string; // ISO 8601 with milliseconds, UTC
  hostname: string;
  username: string;
  paths: string[]; // absolute source paths as given
  tags: string[];
  parent: ObjectId | null;
  tree: BlobId; // root tree blob
  program_version: string;
  summary: SnapshotSummary;
  /**
   * True when the backup read every entry's extended attributes (format 2, no --no-xattrs). A
   * backup with this snapshot as parent then reuses a node's attributes when the entry's ctime and
   * the rest of its metadata are unchanged (setting or removing an attribute changes the ctime)
   * instead of listing them again. Absent in older snapshots: their attributes are read.
   */
  xattrs?: boolean;
}

export interface Snapshot extends SnapshotInput {
  /** SHA-256 of the snapshot object's stored bytes (also its object name). */
  id: ObjectId;
}

/** A per-file problem; the run continues. */
export interface FileError {
  path: string;
  message: string;
}

/**
 * The repository as the archiver, restorer and checker see it. Implemented by
 * src/engine/repository/. All methods honour `signal` and throw CancelledError when it fires.
 */
export interface Repository {
  /** Random 64-hex repository id from the config object. */
  readonly id: string;
  readonly chunker: ChunkerParams;
  /** False only for repositories created with --insecure-no-encryption. */
  readonly encrypted: boolean;

  /** Keyed hash of plaintext (HMAC-SHA-256 with the repository's id key). Synchronous, pure. */
  blobId(plaintext: Uint8Array): BlobId;

  /** True when the blob is in the index or already queued by this process. */
  hasBlob(type: BlobType, id: BlobId): boolean;

  /** True when tree nodes may carry extended attributes (repository format 2 and later). */
  readonly storesXattrs?: boolean;

  /**
   * Queues the blob for compression, encryption and packing (in worker threads). Resolves once
   * the blob is accepted into an in-memory pack (not necessarily uploaded), applying back-pressure
   * so memory stays bounded. Saving a blob that already exists is a no-op returning added=false.
   * storedBytes is the encrypted size it will take in its pack (0 when not added).
   * plaintext is copied before saveBlob returns its promise: the caller may reuse the buffer.
   */
  saveBlob(
    type: BlobType,
    id: BlobId,
    plaintext: Uint8Array,
    signal?: AbortSignal,
  ): Promise<{ added: boolean; storedBytes: number }>;

  /** Reads, authenticates, decompresses and checks the id of a blob. NotFound/Integrity errors. */
  loadBlob(type: BlobType, id: BlobId, signal?: AbortSignal): Promise<Uint8Array>;

  /** Uploads all pending packs and then the index files covering them. */
  flush(signal?: AbortSignal): Promise<void>;

  /**
   * Optional: indexes the packs already uploaded, for a run that stops before flush (cancelled or
   * failed), so the next backup reuses them. Best effort: never throws.
   */
  indexUploaded?(): Promise<void>;

  /** Optional: bytes held for saving (queued and packed, not yet uploaded); 0 when none. */
  bufferedBytes?(): number;

  /** Writes a snapshot object (after flush). Returns the new snapshot with its id. */
  saveSnapshot(snapshot: SnapshotInput, signal?: AbortSignal): Promise<Snapshot>;

  /** All snapshots, oldest first. */
  listSnapshots(signal?: AbortSignal): Promise<Snapshot[]>;

  /**
   * Resolves a full id, a unique hex prefix of at least 8 characters, or "latest" (optionally
   * filtered by host/paths for choosing a parent). NotFoundError / ValidationError (ambiguous).
   */
  findSnapshot(ref: string, signal?: AbortSignal): Promise<Snapshot>;

  /** Encodes a tree canonically and saves it as a "tree" blob; returns its id. */
  saveTree(tree: Tree, signal?: AbortSignal): Promise<BlobId>;

  /** Loads and validates a tree blob (names checked: no "/", "..", "." or empty). */
  loadTree(id: BlobId, signal?: AbortSignal): Promise<Tree>;

  /** Releases locks, workers and the backend. */
  close(): Promise<void>;
}

/** Progress of a long operation, emitted by the engine and rendered by CLI/JSON/SSE. */
export type ProgressEvent =
  | { type: "start"; operation: "backup" | "restore" | "check" | "prune"; time: string }
  | { type: "scan"; files_total: number; bytes_total: number; done: boolean }
  | {
      type: "progress";
      files_done: number;
      files_total: number;
      bytes_done: number;
      bytes_total: number;
      current: string[];
      /** Bytes per second over the recent window. */
      rate: number;
      /** Seconds remaining, or null when unknown. */
      eta: number | null;
      errors: number;
      elapsed_ms: number;
    }
  | { type: "error"; path: string; message: string };

export type ProgressListener = (event: ProgressEvent) => void;
