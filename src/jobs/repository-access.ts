/**
 * The only way jobs open a destination's repository: a plain, serialisable spec (address, S3
 * settings, passphrase) built from the destination row, and the opening of it. A run's child
 * process receives the spec over stdin, so it never needs the database or the server key.
 * The spec holds the revealed passphrase and secret key: never log or return it.
 */
import { hostname } from "node:os";
import { readAwsCaBundle } from "../config/index.ts";
import type { Db } from "../db/client.ts";
import {
  type DestinationSecrets,
  destinationSecrets,
  findDestinationRow,
  type StoredSettings,
  storedSettings,
} from "../db/destinations.ts";
import {
  type InitOptions,
  initRepository,
  type OpenOptions,
  openRepository,
  type RepositoryImpl,
} from "../engine/repository/index.ts";
import { listLocks, pidAlive } from "../engine/repository/lock.ts";
import type { Backend } from "../storage/backend.ts";
import { type OpenBackendOptions, openBackend } from "../storage/open.ts";
import { NotFoundError, WrongPasswordError } from "../util/errors.ts";
import { withUploadCount } from "./upload-count.ts";

export interface RepositoryTargetSpec {
  /** "s3://bucket/prefix" (or "s3://bucket") or an absolute folder. */
  address: string;
  s3: {
    endpoint?: string;
    region?: string;
    accessKeyId?: string;
    secretAccessKey?: string;
    storageClass?: string;
    caPem?: string;
  };
  /** The repository passphrase, revealed ("" for an unencrypted repository). */
  password: string;
}

export interface RepositoryAccessDeps {
  db: Db;
  dataDir: string;
  /**
   * Text of the AWS_CA_BUNDLE file; undefined reads it through src/config (the process's own
   * environment), null means none. Trusted beside a destination's own CA certificate.
   */
  caBundlePem?: string | null;
}

/** The spec of a destination's repository. NotFoundError for an unknown id; SecretBoxError when the secrets cannot be unsealed. */
export function repositoryTargetSpec(
  deps: RepositoryAccessDeps,
  destinationId: string,
): RepositoryTargetSpec {
  const row = findDestinationRow(deps.db, destinationId);
  if (!row) throw new NotFoundError(`destination ${destinationId} not found`);
  return targetSpecOf(storedSettings(row), destinationSecrets(deps.dataDir, row), caBundleOf(deps));
}

/** The AWS_CA_BUNDLE text to trust: the one passed in, else read through src/config. */
export function caBundleOf(deps: { caBundlePem?: string | null }): string | null {
  return deps.caBundlePem === undefined ? (readAwsCaBundle() ?? null) : deps.caBundlePem;
}

/** The spec for settings and secrets not (yet) stored: used while a destination is created or changed. */
export function targetSpecOf(
  settings: StoredSettings,
  secrets: DestinationSecrets,
  caBundlePem: string | null,
): RepositoryTargetSpec {
  const password = secrets.password.reveal();
  if (settings.kind === "local") return { address: settings.path, s3: {}, password };
  const caPem = [settings.caCertificate, caBundlePem].filter(Boolean).join("\n");
  const s3: RepositoryTargetSpec["s3"] = {
    region: settings.region,
    accessKeyId: settings.accessKeyId,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(secrets.secretAccessKey ? { secretAccessKey: secrets.secretAccessKey.reveal() } : {}),
    ...(settings.storageClass ? { storageClass: settings.storageClass } : {}),
    ...(caPem ? { caPem } : {}),
  };
  const address = `s3://${settings.bucket}${settings.prefix ? `/${settings.prefix}` : ""}`;
  return { address, s3, password };
}

/** The storage backend of a spec (retrying; upload-limited when asked). ValidationError for a bad address or endpoint. */
export function specBackend(spec: RepositoryTargetSpec, options: OpenBackendOptions = {}): Backend {
  return openBackend(spec.address, spec.s3, options);
}

/**
 * Opens the spec's repository. A passphrase that opens no key fails with WrongPasswordError
 * naming the repository (never the passphrase); the backend is closed on every failure.
 */
export async function openSpecRepository(
  spec: RepositoryTargetSpec,
  options: OpenOptions & { limitUploadKbps?: number; onUpload?: (bytes: number) => void } = {},
): Promise<RepositoryImpl> {
  const { limitUploadKbps, onUpload, ...open } = options;
  const limited = specBackend(spec, { limitUploadKbps });
  const backend = onUpload ? withUploadCount(limited, onUpload) : limited;
  try {
    const repo = await openRepository(backend, spec.password, open);
    if ((open.lock ?? "shared") !== "none") await clearDeadLocks(repo, open.signal);
    return repo;
  } catch (e) {
    await backend.close().catch(() => {});
    if (e instanceof WrongPasswordError) {
      throw new WrongPasswordError(`the passphrase does not open the repository at ${backend.location}`, {
        cause: e,
      });
    }
    throw e;
  }
}

/**
 * Deletes the locks this host's dead processes left: a run killed together with its server (power
 * loss, a whole process group killed) cannot release its own. They are stale already (nobody
 * waits for them), but left alone they would linger and be listed for ever. Locks of other hosts
 * wait for their 30-minute staleness and `unlock`. Best effort: a failure here never fails a run.
 */
async function clearDeadLocks(repo: RepositoryImpl, signal?: AbortSignal): Promise<void> {
  const host = hostname();
  try {
    for (const l of await listLocks(repo.backend, repo.masterKeys, { signal })) {
      if (l.unreadable || l.hostname !== host || l.pid === process.pid || pidAlive(l.pid)) continue;
      await repo.backend.delete(l.name, { signal });
    }
  } catch {
    // The next opener tries again.
  }
}

/** Creates a new repository at the spec's address (encrypted unless asked otherwise) and returns it opened, unlocked. */
export async function initSpecRepository(
  spec: RepositoryTargetSpec,
  options: InitOptions & OpenOptions = {},
): Promise<RepositoryImpl> {
  const backend = specBackend(spec);
  try {
    return await initRepository(backend, spec.password, options);
  } catch (e) {
    await backend.close().catch(() => {});
    throw e;
  }
}
