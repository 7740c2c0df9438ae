/**
 * What every repository command shares: the `--repo`, `--password-file`, `--s3-endpoint` and
 * `--s3-region` flags (with their environment fallbacks), reading the passphrase, and opening the
 * backend and the repository. Flags beat the environment; the environment comes from io.env via
 * src/config (never process.env here).
 *
 * The passphrase comes from `--password-file FILE` or BACKAPP_PASSWORD, never from a flag value
 * (it would show in `ps` and shell history). There is no interactive prompt: a command without a
 * passphrase fails at once with a message saying where to put it, so scripts and the web app never
 * hang on a hidden prompt.
 */
import { readRepositoryEnv } from "../../config/index.ts";
import type { OpenOptions, RepositoryImpl } from "../../engine/repository/index.ts";
import { type OnDamagedSnapshot, parseSnapshotRef } from "../../engine/repository/snapshots.ts";
import { openWithPassphrase, requirePassphrase, withOpened } from "../../jobs/operations.ts";
import type { Backend } from "../../storage/backend.ts";
import { openBackend, type S3Settings } from "../../storage/open.ts";
import type { Secret } from "../../util/secret.ts";
import { durationFlag, type FlagSpecs, type ParsedFlags, UsageError } from "../args.ts";
import type { CliIo } from "../io.ts";
import { findPassword } from "./password.ts";

/** Flags every repository command accepts. */
export const REPO_FLAGS = {
  repo: { type: "string" },
  "password-file": { type: "string" },
  "password-command": { type: "string" },
  "s3-endpoint": { type: "string" },
  "s3-region": { type: "string" },
  "retry-lock": { type: "string" },
} as const satisfies FlagSpecs;

export type RepoFlags = ParsedFlags<typeof REPO_FLAGS>;

/** Usage lines for the shared flags, appended to each command's usage text. */
export const REPO_FLAGS_USAGE = `Repository flags:
  --repo REPO             s3://BUCKET/PREFIX or a folder path (env BACKAPP_REPO)
  --password-file FILE    read the passphrase from FILE (env BACKAPP_PASSWORD_FILE)
  --password-command CMD  run CMD (sh -c) and take its output (env BACKAPP_PASSWORD_COMMAND);
                          with neither: env BACKAPP_PASSWORD
  --s3-endpoint URL       S3-compatible endpoint, path-style (env AWS_ENDPOINT_URL_S3, else
                          AWS_ENDPOINT_URL)
  --s3-region REGION      S3 region (env AWS_REGION, default us-east-1)
  --retry-lock DURATION   wait up to DURATION (30s, 5m, 1h) for another process's lock
                          (default: fail at once)
  S3 credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the SDK's usual chain).
`;

export interface RepoTarget {
  /** The repository address as given (flag or BACKAPP_REPO). */
  address: string;
  s3: S3Settings;
  /** The passphrase, or null when none was given. */
  password: Secret | null;
  /** Where the passphrase came from, for messages ("password file F" or "BACKAPP_PASSWORD"). */
  passwordSource?: string;
  /** --retry-lock in ms, and the command recorded in the locks it takes. */
  lock?: { waitMs?: number; operation?: string };
}

/** Resolves address, S3 settings and passphrase. UsageError when no repository is named. */
export function resolveTarget(flags: RepoFlags, io: CliIo): RepoTarget {
  const env = readRepositoryEnv(io.env);
  const address = flags.repo ?? env.repo;
  if (address === undefined || address.trim() === "") {
    throw new UsageError("no repository given: use --repo REPO or set BACKAPP_REPO");
  }
  const s3: S3Settings = {
    endpoint: flags["s3-endpoint"] ?? env.s3.endpoint,
    region: flags["s3-region"] ?? env.s3.region,
    accessKeyId: env.s3.accessKeyId,
    secretAccessKey: env.s3.secretAccessKey,
    sessionToken: env.s3.sessionToken,
  };
  const { password, source } = findPassword(flags, env);
  const lock = { waitMs: durationFlag("retry-lock", flags["retry-lock"]), operation: io.command };
  return { address, s3, password, passwordSource: source, lock };
}

/** The passphrase, or a clear error (exit 1) when none was given or it is empty. */
export function requirePassword(target: RepoTarget): Secret {
  return requirePassphrase(target);
}

/** Opens the storage backend for the target (retrying, optionally rate-limited uploads). */
export function targetBackend(target: RepoTarget, limitUploadKbps?: number): Backend {
  return openBackend(target.address, target.s3, { limitUploadKbps });
}

/**
 * Opens the repository. Without a passphrase only an unencrypted repository opens; an encrypted
 * one then fails with "no passphrase given" rather than "wrong password".
 */
export async function openTargetRepository(
  target: RepoTarget,
  options: OpenOptions & { limitUploadKbps?: number } = {},
): Promise<RepositoryImpl> {
  const { limitUploadKbps, ...open } = options;
  const lockOptions = { ...target.lock, ...open.lockOptions };
  return openWithPassphrase(targetBackend(target, limitUploadKbps), target, { ...open, lockOptions });
}

/** Opens the repository, runs `fn`, and always closes it (releasing lock and workers). */
export async function withRepository<T>(
  target: RepoTarget,
  options: OpenOptions & { limitUploadKbps?: number },
  fn: (repo: RepositoryImpl) => Promise<T>,
): Promise<T> {
  return withOpened(() => openTargetRepository(target, options), fn);
}

/** Exactly `count` positionals, named in the message when missing or extra. */
export function takePositionals(positionals: string[], names: string[], optional: string[] = []): string[] {
  if (positionals.length < names.length) {
    throw new UsageError(`missing ${names.slice(positionals.length).join(" and ")}`);
  }
  if (positionals.length > names.length + optional.length) {
    throw new UsageError(`unexpected argument "${positionals[names.length + optional.length]}"`);
  }
  return positionals;
}

/**
 * Checks the form of a SNAPSHOT argument before anything is opened ("latest", a full id or a
 * prefix of at least 8 hex characters): a malformed one is a usage error (exit 2).
 */
export function snapshotArg(ref: string): string {
  try {
    return parseSnapshotRef(ref);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Reports a snapshot object that cannot be read and is left out of a listing, on stderr. */
export function warnDamaged(io: CliIo): OnDamagedSnapshot {
  return (_id, error) => io.stderr(`warning: skipping unreadable ${error.message} (run "backapp check")\n`);
}
