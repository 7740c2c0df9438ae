/** Public API of the repository layer. See docs/repository-format.md for the stored format. */

export { APP_DOCUMENTS_PREFIX, type AppDocument } from "./app-documents.ts";
export type { IndexEntry, PackInfo } from "./blob-index.ts";
export { DEFAULT_CHUNKER, FORMAT_VERSION, type RepoConfig } from "./config.ts";
export { decodeIndex, encodeIndex, type IndexFile, type IndexPack } from "./index-file.ts";
export { addKey, changePassword, type KeyInfo, listKeys, removeKey } from "./key-admin.ts";
export {
  acquireLock,
  describeLock,
  type HeldLock,
  type LockInfo,
  type LockOptions,
  listLocks,
  removeAllLocks,
  removeStaleLocks,
} from "./lock.ts";
export {
  DEFAULT_PACK_SIZE,
  type InitOptions,
  initRepository,
  loadIndex,
  type OpenOptions,
  openRepository,
  openRepositoryWithKeys,
  repositoryExists,
} from "./open.ts";
export { type PackEntry, packName, readPackHeader } from "./pack-format.ts";
export { type AdoptResult, adoptUnindexedPacks } from "./rebuild-index.ts";
export { RepositoryImpl } from "./repository.ts";
export type { SnapshotFilter } from "./snapshots.ts";
