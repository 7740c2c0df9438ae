/**
 * The browse API of the engine, for the web layer (through src/jobs): pure functions over an
 * opened repository. Contracts and JSON shapes: docs/browse.md.
 */
export {
  contentDisposition,
  downloadFile,
  downloadPath,
  downloadTar,
  type FileDownload,
  type TarDownload,
} from "./download.ts";
export {
  chooseSample,
  type Mismatch,
  type Sample,
  type SampledFile,
  seededRandom,
  type VerifyReport,
  verifyFiles,
} from "./sample.ts";
export { type SearchItem, type SearchMode, type SearchPage, searchSnapshot } from "./search.ts";
export { listTreePage, MAX_PAGE, type TreeItem, type TreePage } from "./tree-page.ts";
export {
  decodePathToken,
  displayName,
  type EntryType,
  encodePathToken,
  parseSnapshotPath,
  TreeCache,
  type TreeSource,
} from "./trees.ts";
export { fileVersions, type VersionItem } from "./versions.ts";
