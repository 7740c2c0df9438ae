/**
 * What adding or changing a destination does to its location: create a new repository, attach to
 * the one already there (listing its snapshots), or check that changed settings still open the
 * same repository. Storage and engine failures become field errors the forms and API show;
 * messages name the location, never a key or passphrase.
 */
import { randomBytes } from "node:crypto";
import { FieldError } from "../auth/errors.ts";
import { repositoryExists } from "../engine/repository/index.ts";
import type { Snapshot } from "../engine/types.ts";
import type { Backend } from "../storage/backend.ts";
import {
  BackappError,
  NotFoundError,
  PermanentStorageError,
  TransientStorageError,
  ValidationError,
  WrongPasswordError,
} from "../util/errors.ts";
import {
  initSpecRepository,
  openSpecRepository,
  type RepositoryTargetSpec,
  specBackend,
} from "./repository-access.ts";

/** A snapshot as listed when attaching to an existing repository. */
export interface SnapshotSummaryJson {
  id: string;
  time: string;
  hostname: string;
  paths: string[];
  tags: string[];
}

export interface RepositoryOutcome {
  repositoryId: string;
  encrypted: boolean;
  /** True when a new repository was created, false when an existing one was attached. */
  created: boolean;
  /** The passphrase when backapp generated it (shown once), else null. */
  generatedPassword: string | null;
  /** Snapshots already there (attach), oldest first; empty for a new repository. */
  snapshots: SnapshotSummaryJson[];
}

/** 32 random bytes, base64url: 43 characters, 256 bits. */
export function generatePassphrase(): string {
  return randomBytes(32).toString("base64url");
}

/** The form field a location problem belongs to. */
function locationField(spec: RepositoryTargetSpec): string {
  return spec.address.startsWith("s3://") ? "bucket" : "path";
}

/**
 * Turns a storage or engine failure while reaching the location into a FieldError ("form" for
 * the connection, "password" for a wrong passphrase); anything else is rethrown.
 */
export function locationFailure(error: unknown, spec: RepositoryTargetSpec): never {
  if (error instanceof FieldError) throw error;
  if (error instanceof WrongPasswordError) {
    throw new FieldError({ password: "This passphrase does not open the repository there." });
  }
  if (
    error instanceof PermanentStorageError ||
    error instanceof TransientStorageError ||
    error instanceof NotFoundError ||
    (error instanceof ValidationError && !(error instanceof FieldError))
  ) {
    throw new FieldError({ form: `Cannot use ${spec.address}: ${(error as Error).message}` });
  }
  if (error instanceof BackappError)
    throw new FieldError({ form: `Cannot open the repository: ${error.message}` });
  throw error;
}

async function withBackend<T>(spec: RepositoryTargetSpec, fn: (b: Backend) => Promise<T>): Promise<T> {
  const backend = specBackend(spec, { retry: { attempts: 2 } });
  try {
    return await fn(backend);
  } finally {
    await backend.close().catch(() => {});
  }
}

/** True when the location holds any object (a repository or anything else). */
async function holdsObjects(backend: Backend): Promise<boolean> {
  for await (const _ of backend.list("")) return true;
  return false;
}

function snapshotJson(s: Snapshot): SnapshotSummaryJson {
  return { id: s.id, time: s.time, hostname: s.hostname, paths: s.paths, tags: s.tags };
}

/** Opens the repository at `spec` with its passphrase and lists its snapshots. */
async function attach(spec: RepositoryTargetSpec): Promise<RepositoryOutcome> {
  const repo = await openSpecRepository(spec, { lock: "none", workers: 0 });
  try {
    const snapshots = await repo.listSnapshots(undefined, () => {});
    snapshots.sort((a, b) => a.time.localeCompare(b.time));
    return {
      repositoryId: repo.id,
      encrypted: repo.encrypted,
      created: false,
      generatedPassword: null,
      snapshots: snapshots.map(snapshotJson),
    };
  } finally {
    await repo.close();
  }
}

/**
 * Attaches to the repository at the location, or creates one there when the location is empty
 * (a generated passphrase when `spec.password` is ""). A location holding other objects but no
 * repository is refused: backapp never mixes its objects into someone else's folder or prefix.
 */
export function initOrAttach(spec: RepositoryTargetSpec): Promise<RepositoryOutcome> {
  return oneAtATime(spec.address, () => initOrAttachNow(spec));
}

/** Adds at one address run one after another, so two at once cannot both find it empty and both create. */
const pending = new Map<string, Promise<unknown>>();

async function oneAtATime<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const before = pending.get(key) ?? Promise.resolve();
  const run = before.catch(() => {}).then(fn);
  pending.set(key, run);
  try {
    return await run;
  } finally {
    if (pending.get(key) === run) pending.delete(key);
  }
}

async function initOrAttachNow(spec: RepositoryTargetSpec): Promise<RepositoryOutcome> {
  try {
    const state = await withBackend(spec, async (b) =>
      (await repositoryExists(b)) ? "repository" : (await holdsObjects(b)) ? "other" : "empty",
    );
    if (state === "repository") {
      if (spec.password === "") {
        // An unencrypted repository opens without one; an encrypted one asks for it.
        return await attach(spec).catch((e: unknown) => {
          if (e instanceof WrongPasswordError) {
            throw new FieldError({
              password: "This location already holds a repository: enter its passphrase.",
            });
          }
          throw e;
        });
      }
      return await attach(spec);
    }
    if (state === "other") {
      throw new FieldError({
        [locationField(spec)]:
          "This location holds other files but no backapp repository: choose an empty or new folder or prefix.",
      });
    }
    const generated = spec.password === "" ? generatePassphrase() : null;
    const repo = await initSpecRepository(
      { ...spec, password: generated ?? spec.password },
      { lock: "none" },
    );
    await repo.close();
    return {
      repositoryId: repo.id,
      encrypted: true,
      created: true,
      generatedPassword: generated,
      snapshots: [],
    };
  } catch (error) {
    return locationFailure(error, spec);
  }
}

/**
 * Checks that changed settings or secrets still open the destination's repository, and the same
 * one (`repositoryId`): a passphrase is never stored unless it opens the repository.
 */
export async function verifySameRepository(
  spec: RepositoryTargetSpec,
  repositoryId: string | null,
): Promise<{ repositoryId: string; encrypted: boolean }> {
  try {
    const repo = await openSpecRepository(spec, { lock: "none", workers: 0 });
    await repo.close();
    if (repositoryId !== null && repo.id !== repositoryId) {
      throw new FieldError({
        form: `The location holds another repository (${repo.id.slice(0, 8)}, not ${repositoryId.slice(0, 8)}): add it as a new destination instead.`,
      });
    }
    return { repositoryId: repo.id, encrypted: repo.encrypted };
  } catch (error) {
    return locationFailure(error, spec);
  }
}
