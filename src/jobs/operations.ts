/**
 * What the CLI and the server's jobs both do around the engine: choose a backup's parent snapshot,
 * open a repository with clear messages for a missing or wrong passphrase, and forget followed by
 * prune under the right lock, refusing to prune while a snapshot cannot be read. The CLI parses
 * and prints around these; a run's child process (run-child.ts) calls them for scheduled jobs.
 * Nothing here touches the database or the web server (the CLI must not load them).
 */
import { type ForgetResult, forgetSnapshotIds, forgetSnapshots } from "../engine/forget.ts";
import { type PruneReport, type PruneStep, pruneRepository } from "../engine/prune.ts";
import { type OpenOptions, openRepository, type RepositoryImpl } from "../engine/repository/index.ts";
import type { OnDamagedSnapshot } from "../engine/repository/snapshots.ts";
import type { GroupField, RetentionPolicy } from "../engine/retention.ts";
import type { Snapshot } from "../engine/types.ts";
import type { Backend } from "../storage/backend.ts";
import { NotFoundError, ValidationError, WrongPasswordError } from "../util/errors.ts";
import type { Secret } from "../util/secret.ts";

/**
 * The parent of a new backup: the latest snapshot with the same host and the same set of paths,
 * or null (a first backup). Unreadable snapshots are reported through `onDamaged` and passed over.
 */
export async function findParent(
  repo: RepositoryImpl,
  hostname: string,
  paths: string[],
  signal: AbortSignal,
  onDamaged?: OnDamagedSnapshot,
): Promise<Snapshot | null> {
  try {
    return await repo.findSnapshot("latest", signal, { hostname, paths }, onDamaged);
  } catch (e) {
    if (e instanceof NotFoundError) return null;
    throw e;
  }
}

/** A passphrase and where it came from (for messages: "password file F", "BACKAPP_PASSWORD"). */
export interface Passphrase {
  password: Secret | null;
  passwordSource?: string;
}

/** The passphrase, or a clear ValidationError when none was given or it is empty. */
export function requirePassphrase(p: Passphrase): Secret {
  if (p.password === null) {
    throw new ValidationError(
      "no passphrase given: set BACKAPP_PASSWORD, or use --password-file FILE or --password-command CMD",
    );
  }
  if (p.password.reveal() === "") {
    const from = p.passwordSource ? ` (${p.passwordSource})` : "";
    throw new ValidationError(`the passphrase is empty${from}`);
  }
  return p.password;
}

/**
 * Opens the repository on `backend`, closing the backend when that fails. Without a passphrase
 * only an unencrypted repository opens; an encrypted one then fails with "no passphrase given"
 * (or "is empty") rather than "wrong password". Otherwise WrongPasswordError as the engine says.
 */
export async function openWithPassphrase(
  backend: Backend,
  passphrase: Passphrase,
  options: OpenOptions = {},
): Promise<RepositoryImpl> {
  try {
    return await openRepository(backend, passphrase.password?.reveal() ?? "", options);
  } catch (e) {
    await backend.close().catch(() => {});
    if (e instanceof WrongPasswordError) requirePassphrase(passphrase);
    throw e;
  }
}

/** Opens with `open`, runs `fn`, and always closes the repository (releasing lock and workers). */
export async function withOpened<T>(
  open: () => Promise<RepositoryImpl>,
  fn: (repo: RepositoryImpl) => Promise<T>,
): Promise<T> {
  const repo = await open();
  try {
    return await fn(repo);
  } finally {
    await repo.close();
  }
}

/** Which snapshots forget removes: by a retention policy, or by id (damaged ones included). */
export type ForgetSelection =
  | {
      policy: RetentionPolicy;
      timeZone?: string;
      groupBy?: GroupField[];
      hosts?: string[];
      tags?: string[];
      /** Only snapshots whose paths include each of these. */
      paths?: string[];
    }
  | { ids: string[] };

export interface ForgetPruneOptions {
  dryRun?: boolean;
  /** Prune afterwards (needs the exclusive lock: see forgetLock). */
  prune?: boolean;
  maxUnusedPct?: number;
  signal?: AbortSignal;
  /** Each snapshot that cannot be read; it stays in place and prune is then refused. */
  onDamaged?: (id: string, error: Error) => void;
  /** Each prune step as it starts (forget -v). */
  onPruneStep?: (step: PruneStep) => void;
}

export interface ForgetOutcome {
  result: ForgetResult;
  /** The named snapshots (selection by ids), else null. */
  ids: string[] | null;
  /** The prune report, or null when prune was not asked for or was refused. */
  pruned: PruneReport | null;
  damaged: { id: string; error: string }[];
  /** True when prune was asked for and refused because of damaged snapshots. */
  pruneRefused: boolean;
}

/** The lock forget needs: exclusive when it prunes for real (prune rewrites packs), else shared. */
export function forgetLock(options: { prune?: boolean; dryRun?: boolean }): "exclusive" | "shared" {
  return options.prune && !options.dryRun ? "exclusive" : "shared";
}

/**
 * Forgets the selected snapshots, then prunes when asked. Prune would refuse on a snapshot it
 * cannot read (its data would look unused), so with any damaged snapshot prune is skipped and
 * `pruneRefused` set. The repository must be open with forgetLock(options).
 */
export async function forgetAndPrune(
  repo: RepositoryImpl,
  selection: ForgetSelection,
  options: ForgetPruneOptions = {},
): Promise<ForgetOutcome> {
  const { dryRun = false, signal } = options;
  const damaged: ForgetOutcome["damaged"] = [];
  const onDamaged = (id: string, e: Error) => {
    damaged.push({ id, error: e.message });
    options.onDamaged?.(id, e);
  };
  let ids: string[] | null = null;
  let result: ForgetResult;
  if ("policy" in selection) {
    const { policy, ...rest } = selection;
    result = await forgetSnapshots(repo, policy, { ...rest, dryRun, signal, onDamaged });
  } else {
    ids = await forgetSnapshotIds(repo, selection.ids, { dryRun, signal });
    result = { groups: [], keep: [], remove: [], removed: dryRun ? [] : ids };
  }
  const pruneRefused = options.prune === true && damaged.length > 0;
  const pruned =
    options.prune && !pruneRefused
      ? await pruneRepository(repo, {
          maxUnusedPct: options.maxUnusedPct,
          dryRun,
          signal,
          excludeSnapshots: ids ?? result.remove.map((s) => s.id),
          onStep: options.onPruneStep,
        })
      : null;
  return { result, ids, pruned, damaged, pruneRefused };
}
