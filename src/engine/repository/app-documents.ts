/**
 * App documents ("apps/<app>/<id>"): a small document an application keeps in the repository it
 * writes to (backapp keeps its job and destination definitions there for disaster recovery). The
 * engine does not interpret the text; it seals it under the repository's keys (kind "app"), names
 * the object by the SHA-256 of the stored bytes like every other immutable object, and replaces
 * an older version by writing the new one first and deleting the old ones after, so a crash
 * leaves one readable version or two (the reader takes the newest). Readers that do not know the
 * prefix ignore it (the format says unknown names MUST be ignored); check and prune never list it.
 */
import type { Backend } from "../../storage/backend.ts";
import { IntegrityError, NotFoundError, ValidationError, wrapError } from "../../util/errors.ts";
import { isHexId, sha256Hex, utf8 } from "../crypto/aead.ts";
import { type MasterKeys, openWith, sealWith } from "../crypto/keys.ts";

export const APP_DOCUMENTS_PREFIX = "apps/";

/** A stored version of an app document. */
export interface AppDocument {
  /** Object id (SHA-256 of the stored bytes). */
  id: string;
  app: string;
  /** When it was written (ISO 8601 UTC, the writer's clock). */
  written: string;
  /** The application's text, as given. */
  text: string;
}

/** What one app document may weigh: it holds definitions, never data. */
const MAX_TEXT_BYTES = 4 * 1024 * 1024;

function checkApp(app: string): void {
  if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(app)) throw new ValidationError(`invalid app document name "${app}"`);
}

const prefixOf = (app: string) => `${APP_DOCUMENTS_PREFIX}${app}/`;

async function listIds(backend: Backend, app: string, signal?: AbortSignal): Promise<string[]> {
  const ids: string[] = [];
  for await (const o of backend.list(prefixOf(app), { signal })) {
    const id = o.name.slice(prefixOf(app).length);
    if (isHexId(id)) ids.push(id);
  }
  return ids;
}

function decode(app: string, id: string, stored: Uint8Array, keys: MasterKeys): AppDocument {
  if (sha256Hex(stored) !== id) throw new IntegrityError("content does not match its name (SHA-256)");
  let body: { app?: unknown; written?: unknown; text?: unknown };
  try {
    body = JSON.parse(new TextDecoder().decode(openWith(keys, "app", stored)));
  } catch (e) {
    if (e instanceof IntegrityError) throw e;
    throw new IntegrityError("malformed app document", { cause: e });
  }
  const ok =
    body?.app === app &&
    typeof body.text === "string" &&
    typeof body.written === "string" &&
    !Number.isNaN(Date.parse(body.written));
  if (!ok) throw new IntegrityError("malformed app document");
  return { id, app, written: body.written as string, text: body.text as string };
}

/**
 * The newest readable version of the app's document, or null when there is none (an older
 * repository, or one this app never wrote to). Damaged versions are skipped; a storage failure
 * or cancellation is thrown.
 */
export async function readAppDocument(
  backend: Backend,
  keys: MasterKeys,
  app: string,
  signal?: AbortSignal,
): Promise<AppDocument | null> {
  checkApp(app);
  let newest: AppDocument | null = null;
  for (const id of await listIds(backend, app, signal)) {
    let doc: AppDocument;
    try {
      doc = decode(app, id, await backend.get(`${prefixOf(app)}${id}`, { signal }), keys);
    } catch (e) {
      // Deleted between list and get (a writer replacing it), or damaged: the others may serve.
      if (e instanceof IntegrityError || e instanceof NotFoundError) continue;
      throw wrapError(`app document ${id.slice(0, 12)}`, e);
    }
    const later =
      !newest || doc.written > newest.written || (doc.written === newest.written && doc.id > newest.id);
    if (later) newest = doc;
  }
  return newest;
}

/**
 * Stores `text` as the app's document and removes the versions it replaces. When the newest
 * stored version already holds the same text nothing is written (returns false): a run that
 * changed no definitions costs one list and one read.
 */
export async function writeAppDocument(
  backend: Backend,
  keys: MasterKeys,
  app: string,
  text: string,
  written: string,
  signal?: AbortSignal,
): Promise<boolean> {
  checkApp(app);
  if (utf8(text).byteLength > MAX_TEXT_BYTES) throw new ValidationError("app document too large");
  const current = await readAppDocument(backend, keys, app, signal);
  if (current?.text === text) return false;
  const old = await listIds(backend, app, signal);
  const bytes = sealWith(keys, "app", utf8(JSON.stringify({ app, written, text })));
  const id = sha256Hex(bytes);
  try {
    await backend.put(`${prefixOf(app)}${id}`, bytes, { signal });
    for (const o of old) if (o !== id) await backend.delete(`${prefixOf(app)}${o}`, { signal });
  } catch (e) {
    throw wrapError(`write app document ${app}`, e);
  }
  return true;
}
