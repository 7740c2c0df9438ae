/**
 * Paths as requests carry them: a plain snapshot path (`path=/home/me/a.txt`, "" or "/" for the
 * root) or a lossless token (`p=`, base64url of the raw bytes: names that are not UTF-8 survive).
 * Snapshot paths are absolute: a relative one, `.`/`..` components or NUL are refused here, before
 * the engine sees them (which refuses them again).
 */
import { ValidationError } from "../util/errors.ts";
import type { RepositoryAccessDeps, RepositoryTargetSpec } from "./repository-access.ts";

const MAX_PATH = 64 * 1024;

/** The snapshot path a request names; ValidationError for anything that could step outside. */
export async function resolveRequestPath(query: { path?: string; p?: string }): Promise<string> {
  const { decodePathToken, parseSnapshotPath } = await import("../engine/browse/index.ts");
  const path = query.p !== undefined && query.p !== "" ? decodePathToken(query.p) : (query.path ?? "");
  if (path.length > MAX_PATH) throw new ValidationError("path is too long");
  if (path !== "" && !path.startsWith("/")) throw new ValidationError("path must be absolute (start with /)");
  if (/(^|\/)\.\.?(\/|$)/.test(path) || path.includes("\0")) {
    throw new ValidationError("path must not contain NUL, . or .. components");
  }
  parseSnapshotPath(path);
  return path;
}

/** repositoryTargetSpec, loaded on first use (it pulls the engine's repository code). */
export async function repositoryTargetSpecLazy(): Promise<
  (deps: RepositoryAccessDeps, destinationId: string) => RepositoryTargetSpec
> {
  return (await import("./repository-access.ts")).repositoryTargetSpec;
}

/** The engine's path token and display functions (loaded on first use), for links and pages. */
export async function pathCodec(): Promise<{ token(path: string): string; display(path: string): string }> {
  const { encodePathToken, displayName } = await import("../engine/browse/index.ts");
  return { token: encodePathToken, display: displayName };
}
