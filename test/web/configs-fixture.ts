/**
 * The jobs tests' world: the real app over a real SQLite file (app.request(), no socket), an admin
 * and a user with one allowed root, signed-in clients that carry cookie and CSRF token, and local
 * destinations holding real repositories.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ensureSetupToken } from "../../src/auth/accounts.ts";
import { insertDestination } from "../../src/db/destinations.ts";
import { findUserByEmail } from "../../src/db/users.ts";
import { initSpecRepository } from "../../src/jobs/repository-access.ts";
import { newId } from "../../src/util/ids.ts";
import { Secret } from "../../src/util/secret.ts";
import { createTestApp } from "../helpers/auth-app.ts";
import { ADMIN, ALICE, BOB } from "../helpers/auth-server.ts";
import { tempDir } from "../helpers/temp.ts";

const ORIGIN = "http://backapp.test";
const CHEAP = { scrypt: { N: 1024, r: 8, p: 1 }, workers: 0 };
const PASS = "correct horse battery staple 42";

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

/** A signed-in client: cookie, CSRF token, same-origin Origin on unsafe requests. */
export class Client {
  constructor(
    private readonly t: ReturnType<typeof createTestApp>,
    readonly cookie: string,
    readonly csrf: string,
    readonly userId: string,
  ) {}

  async request(
    method: string,
    path: string,
    init: { json?: unknown; form?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { cookie: this.cookie, ...init.headers };
    if (method !== "GET") Object.assign(headers, { origin: ORIGIN, "x-csrf-token": this.csrf });
    let body: BodyInit | undefined;
    if (init.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(init.json);
    }
    if (init.form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams({ _csrf: this.csrf, ...init.form });
    }
    const res = await this.t.app.request(ORIGIN + path, { method, headers, ...(body ? { body } : {}) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: <T>() => JSON.parse(text) as T };
  }
  get(path: string, headers: Record<string, string> = {}) {
    return this.request("GET", path, { headers });
  }
  api(method: string, path: string, json?: unknown) {
    return this.request(method, path, json === undefined ? {} : { json });
  }
  form(path: string, form: Record<string, string>, headers: Record<string, string> = {}) {
    return this.request("POST", path, { form, headers });
  }
}

function cookieOf(res: Response): string {
  return res.headers.getSetCookie()[0]!.split(";")[0]!;
}

async function login(t: ReturnType<typeof createTestApp>, who: typeof ALICE): Promise<Client> {
  const res = await t.app.request(`${ORIGIN}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: ORIGIN },
    body: JSON.stringify({ email: who.email, password: who.password }),
  });
  if (res.status !== 200) throw new Error(`login ${who.email}: ${res.status}`);
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return new Client(t, cookieOf(res), csrfToken, findUserByEmail(t.db, who.email)!.id);
}

export interface World {
  t: ReturnType<typeof createTestApp>;
  admin: Client;
  alice: Client;
  bob: Client;
  /** Alice's allowed root, with a small tree inside. */
  root: string;
  /** Alice's local destination (a real repository) and Bob's. */
  aliceDest: string;
  bobDest: string;
  close(): void;
}

export async function localDestination(t: ReturnType<typeof createTestApp>, userId: string, path: string) {
  mkdirSync(path, { recursive: true });
  const repo = await initSpecRepository({ address: path, s3: {}, password: PASS }, CHEAP);
  await repo.close();
  const id = newId();
  insertDestination(t.db, t.services.dataDir, {
    id,
    userId,
    name: `disk ${id.slice(0, 4)}`,
    settings: { kind: "local", path, encrypted: true },
    secrets: { secretAccessKey: null, password: new Secret(PASS) },
    repositoryId: repo.id,
    now: t.clock.now(),
  });
  return id;
}

export async function createWorld(): Promise<World> {
  const t = createTestApp();
  const files = tempDir("backapp-configs-files-");
  const root = join(files.path, "alice");
  mkdirSync(root, { recursive: true });
  const reg = await t.app.request(`${ORIGIN}/api/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: ORIGIN },
    body: JSON.stringify({ ...ADMIN, setupToken: ensureSetupToken(t.services) }),
  });
  const { csrfToken } = (await reg.json()) as { csrfToken: string };
  const admin = new Client(t, cookieOf(reg), csrfToken, findUserByEmail(t.db, ADMIN.email)!.id);
  for (const who of [ALICE, BOB]) {
    const r = await admin.api("POST", "/api/users", {
      ...who,
      role: "user",
      allowedRoots: who === ALICE ? [root] : [],
    });
    if (r.status !== 201) throw new Error(`add user: ${r.status} ${r.text}`);
  }
  const alice = await login(t, ALICE);
  const bob = await login(t, BOB);
  const aliceDest = await localDestination(t, alice.userId, join(files.path, "repo-alice"));
  const bobDest = await localDestination(t, bob.userId, join(files.path, "repo-bob"));
  return {
    t,
    admin,
    alice,
    bob,
    root,
    aliceDest,
    bobDest,
    close() {
      t.close();
      files.cleanup();
    },
  };
}

/** A minimal valid job body for Alice. */
export function jobBody(world: World, extra: Record<string, unknown> = {}) {
  return {
    name: "Documents",
    sources: [{ path: world.root }],
    destinationId: world.aliceDest,
    schedule: { cronExpression: "0 2 * * *", timezone: "Europe/Paris" },
    ...extra,
  };
}
