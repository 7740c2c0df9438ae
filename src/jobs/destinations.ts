/**
 * Destinations as the web app (pages and API alike) manages them: who may see and use which
 * (owners and admins; others get NotFound), local folders only inside a user's allowed roots,
 * creating or attaching a repository on add, re-checking the repository on change, refusing to
 * delete one that jobs use. Every change is audited without secrets. Deleting never touches the
 * bucket or folder.
 */
import { realpathSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { audit } from "../auth/accounts.ts";
import type { ActionContext } from "../auth/deps.ts";
import { FieldError, ForbiddenError } from "../auth/errors.ts";
import { isPathAllowed, ownedOrNotFound, type Principal } from "../auth/permissions.ts";
import type { Db } from "../db/client.ts";
import {
  type DestinationRow,
  type DestinationSecrets,
  deleteDestinationRow,
  destinationNameTaken,
  destinationSecrets,
  findDestinationRow,
  insertDestination,
  jobsUsingDestination,
  listDestinationRows,
  type StoredSettings,
  storedSettings,
  updateDestination,
} from "../db/destinations.ts";
import { SecretBoxError } from "../db/secret-box.ts";
import type { Clock } from "../util/clock.ts";
import { BackappError } from "../util/errors.ts";
import { newId } from "../util/ids.ts";
import { Secret } from "../util/secret.ts";
import { initOrAttach, type RepositoryOutcome, verifySameRepository } from "./destination-repository.ts";
import { type DestinationInput, locationOf, settingsFromInput } from "./destination-schema.ts";
import { caBundleOf, targetSpecOf } from "./repository-access.ts";

export interface DestinationDeps {
  db: Db;
  dataDir: string;
  clock: Clock;
  /** Text of the AWS_CA_BUNDLE file (null: none); undefined reads it through src/config. */
  caBundlePem?: string | null;
}

/** Deleting a destination that jobs still write into (409, with those jobs). */
export class DestinationInUseError extends BackappError {
  constructor(readonly jobs: { id: string; name: string }[]) {
    super(
      `Jobs still back up into this destination: ${jobs.map((j) => j.name).join(", ")}. Delete them or move them to another destination first.`,
    );
  }
}

/** Destinations `p` may see: their own, or every one for an admin. */
export function listDestinations(db: Db, p: Principal): DestinationRow[] {
  return listDestinationRows(db, p.role === "admin" ? undefined : p.id);
}

/** The destination when `p` may see it; NotFoundError otherwise (another user's id reads as missing). */
export function getDestination(db: Db, p: Principal, id: string): DestinationRow {
  return ownedOrNotFound(p, findDestinationRow(db, id), "destination");
}

/**
 * A local folder outside the user's allowed roots is refused (403 with the field), judged both as
 * written and with symbolic links resolved (a link inside a root must not lead outside it).
 */
export function localPathProblem(p: Principal, path: string): string | null {
  if (isPathAllowed(p, path) && isPathAllowed(p, resolvedPath(path))) return null;
  return `${path} is outside the folders an administrator allowed for you.`;
}

function checkLocationAccess(p: Principal, input: DestinationInput): void {
  const message = input.type === "local" ? localPathProblem(p, input.path) : null;
  if (message !== null) throw new ForbiddenError(message, { path: message });
}

/** The path with the symbolic links of its longest existing ancestor resolved. */
function resolvedPath(path: string): string {
  const rest: string[] = [];
  let at = path;
  for (;;) {
    try {
      return join(realpathSync(at), ...rest);
    } catch {
      const parent = dirname(at);
      if (parent === at) return path;
      rest.unshift(basename(at));
      at = parent;
    }
  }
}

function checkName(db: Db, ownerId: string, name: string, exceptId?: string): void {
  if (destinationNameTaken(db, ownerId, name, exceptId)) {
    throw new FieldError({ name: "You already have a destination with this name." });
  }
}

function auditChange(
  deps: DestinationDeps,
  action: string,
  ctx: ActionContext,
  row: DestinationRow,
  extra = {},
) {
  const s = storedSettings(row);
  audit(deps, action, {
    ...ctx,
    target: `destination:${row.id}`,
    details: {
      name: row.name,
      type: s.kind,
      location: locationOf(s),
      repositoryId: row.repositoryId,
      ...extra,
    },
  });
}

export interface CreatedDestination {
  row: DestinationRow;
  repository: RepositoryOutcome;
}

/**
 * Adds a destination: attaches to the repository already at the location (its passphrase must
 * open it) or creates a new one (passphrase given, or generated and returned once).
 */
export async function createDestination(
  deps: DestinationDeps,
  p: Principal,
  input: DestinationInput,
  ctx: ActionContext,
): Promise<CreatedDestination> {
  checkLocationAccess(p, input);
  checkName(deps.db, p.id, input.name);
  if (input.type === "s3" && !input.secretAccessKey) {
    throw new FieldError({ secretAccessKey: "Enter the secret access key." });
  }
  const draft = settingsFromInput(input, true);
  const secrets: DestinationSecrets = {
    secretAccessKey: input.type === "s3" ? new Secret(input.secretAccessKey ?? "") : null,
    password: new Secret(input.password ?? ""),
  };
  const repository = await initOrAttach(targetSpecOf(draft, secrets, caBundleOf(deps)));
  if (repository.generatedPassword !== null) secrets.password = new Secret(repository.generatedPassword);
  const row = insertDestination(deps.db, deps.dataDir, {
    id: newId(),
    userId: p.id,
    name: input.name,
    settings: { ...draft, encrypted: repository.encrypted },
    secrets,
    repositoryId: repository.repositoryId,
    now: deps.clock.now(),
  });
  auditChange(deps, "destination.create", ctx, row, {
    created: repository.created,
    passwordGenerated: repository.generatedPassword !== null,
    snapshots: repository.snapshots.length,
  });
  return { row, repository };
}

/** True when anything but the name differs (the repository must then be opened again). */
function accessChanged(before: StoredSettings, after: StoredSettings, input: DestinationInput): boolean {
  const { encrypted: _a, ...b } = before;
  const { encrypted: _b, ...a } = after;
  return (
    JSON.stringify(a) !== JSON.stringify(b) ||
    Boolean(input.password) ||
    ("secretAccessKey" in input && Boolean(input.secretAccessKey))
  );
}

const LOST =
  "The stored secret cannot be read with this server's key (was secret.key replaced?): enter it again.";

/** The secrets after an edit: new values where given, else the stored ones (which must still unseal). */
function editedSecrets(
  dataDir: string,
  row: DestinationRow,
  before: StoredSettings,
  input: DestinationInput,
): DestinationSecrets {
  let old: DestinationSecrets | null = null;
  try {
    old = destinationSecrets(dataDir, row);
  } catch (error) {
    if (!(error instanceof SecretBoxError)) throw error;
  }
  let secretAccessKey: Secret | null = null;
  if (input.type === "s3") {
    const sameKey = before.kind === "s3" && before.accessKeyId === input.accessKeyId;
    secretAccessKey = input.secretAccessKey
      ? new Secret(input.secretAccessKey)
      : sameKey
        ? (old?.secretAccessKey ?? null)
        : null;
    if (secretAccessKey === null) {
      const message = sameKey && old === null ? LOST : "Enter the secret access key for this access key id.";
      throw new FieldError({ secretAccessKey: message });
    }
  }
  const password = input.password ? new Secret(input.password) : old?.password;
  if (!password) throw new FieldError({ password: LOST });
  return { secretAccessKey, password };
}

/**
 * Changes a destination. Empty secret fields keep the stored ones. When the location, the
 * credentials or the passphrase change, the repository is opened with the new values and must
 * be the same repository, so a passphrase that does not open it is never stored.
 */
export async function changeDestination(
  deps: DestinationDeps,
  p: Principal,
  id: string,
  input: DestinationInput,
  ctx: ActionContext,
): Promise<DestinationRow> {
  const row = getDestination(deps.db, p, id);
  checkLocationAccess(p, input);
  checkName(deps.db, row.userId, input.name, row.id);
  const before = storedSettings(row);
  const secrets = editedSecrets(deps.dataDir, row, before, input);
  let settings = settingsFromInput(input, before.encrypted);
  let repositoryId = row.repositoryId ?? "";
  if (accessChanged(before, settings, input)) {
    const opened = await verifySameRepository(
      targetSpecOf(settings, secrets, caBundleOf(deps)),
      row.repositoryId,
    );
    settings = { ...settings, encrypted: opened.encrypted };
    repositoryId = opened.repositoryId;
  }
  const updated = updateDestination(deps.db, deps.dataDir, row.id, {
    name: input.name,
    settings,
    secrets,
    repositoryId,
    now: deps.clock.now(),
  });
  auditChange(deps, "destination.update", ctx, updated, {
    passwordChanged: Boolean(input.password),
    secretAccessKeyChanged: input.type === "s3" && Boolean(input.secretAccessKey),
  });
  return updated;
}

/** Deletes the destination's row only (the repository stays where it is). DestinationInUseError while jobs use it. */
export function deleteDestination(deps: DestinationDeps, p: Principal, id: string, ctx: ActionContext): void {
  const row = getDestination(deps.db, p, id);
  const jobs = jobsUsingDestination(deps.db, row.id);
  if (jobs.length > 0) throw new DestinationInUseError(jobs);
  deleteDestinationRow(deps.db, row.id);
  auditChange(deps, "destination.delete", ctx, row);
}

/** Records that the user confirmed keeping a new repository's passphrase (the page's last step). */
export function confirmPassphraseKept(
  deps: DestinationDeps,
  p: Principal,
  id: string,
  ctx: ActionContext,
): void {
  const row = getDestination(deps.db, p, id);
  auditChange(deps, "destination.passphrase_confirmed", ctx, row);
}
