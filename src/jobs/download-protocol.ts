/**
 * The download and stats kinds of a run's child process (`backapp __run`). A download child
 * answers with one JSON line (a DownloadHeader) and then, after a "ready" header, the raw bytes of
 * the file or tar until EOF; a failure after the header is a non-zero exit with the reason on
 * stderr. A stats child answers with one JSON line like every other run kind. Types only.
 */
import type { RepositoryTargetSpec } from "./repository-access.ts";

export interface DownloadSpec {
  kind: "download";
  target: RepositoryTargetSpec;
  /** A full id, a unique prefix or "latest" (checked by the server's pattern first). */
  snapshotRef: string;
  /** An absolute snapshot path already refused for `..`, NUL and the like; "" is the root. */
  path: string;
  /**
   * The repository's master keys (base64) when the server has it open already: the child skips
   * the key derivation. As secret as the passphrase beside them; the passphrase is the fallback.
   */
  masterKeys?: { encrypt: string | null; mac: string };
}

/** Why a download could not start, so the server can answer with the right status. */
export type DownloadFailure = "not-found" | "invalid" | "other";

export type DownloadHeader =
  | { type: "ready"; kind: "file" | "tar"; name: string; size: number | null }
  | { type: "failed"; kind: DownloadFailure; message: string };

export function isDownloadSpec(spec: object): spec is DownloadSpec {
  return "kind" in spec && spec.kind === "download";
}

export interface StatsSpec {
  kind: "stats";
  target: RepositoryTargetSpec;
}

/** The numbers of `backapp stats` that /api/storage/usage reports. */
export interface RepoNumbers {
  storedBytes: number;
  objects: number;
  snapshots: number;
  latestSnapshot: string | null;
  logicalBytes: number;
  latestFiles: number;
  totalLogicalBytes: number;
  uniqueBytes: number;
  dedupRatio: number;
  compressionRatio: number;
}

export type StatsMessage = { type: "stats"; numbers: RepoNumbers };

export function isStatsSpec(spec: object): spec is StatsSpec {
  return "kind" in spec && spec.kind === "stats";
}
