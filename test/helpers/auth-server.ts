/**
 * The real server in-process with a fresh data dir and optional auth settings (SMTP, trusted
 * proxies), plus a tiny browser: a cookie jar, same-origin Origin headers on unsafe requests,
 * and the CSRF token picked from the last page.
 */
import type { ServerConfig } from "../../src/config/index.ts";
import { startServer } from "../../src/server.ts";
import { createLogger } from "../../src/util/logger.ts";
import { tempDir } from "./temp.ts";

export interface AuthTestServer {
  url: string;
  dataDir: string;
  logs: Record<string, unknown>[];
  setupToken(): string;
  stop(): Promise<void>;
}

export async function startAuthServer(extra: Partial<ServerConfig> = {}): Promise<AuthTestServer> {
  const dir = tempDir("backapp-auth-");
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger("info", {
    write(line: string) {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  const server = await startServer(
    { host: "127.0.0.1", port: 0, dataDir: dir.path, logLevel: "info", ...extra },
    logger,
  );
  return {
    url: server.url,
    dataDir: dir.path,
    logs,
    setupToken() {
      const line = logs.find((l) => typeof l.setupToken === "string");
      if (!line) throw new Error("no setup token logged");
      return line.setupToken as string;
    },
    async stop() {
      await server.stop();
      dir.cleanup();
    },
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

/** A cookie-keeping client that behaves like a same-origin browser unless told otherwise. */
export class Browser {
  cookies = new Map<string, string>();
  csrf: string | null = null;
  constructor(readonly base: string) {}

  async request(
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: BodyInit } = {},
  ) {
    const headers = new Headers(init.headers);
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    if (cookie && !headers.has("cookie")) headers.set("cookie", cookie);
    if (method !== "GET" && !headers.has("origin")) headers.set("origin", this.base);
    const res = await fetch(this.base + path, {
      method,
      headers,
      body: init.body ?? null,
      redirect: "manual",
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (/max-age=0/i.test(line) || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await res.text();
    const m = /name="_csrf" value="([^"]+)"/.exec(text);
    if (m) this.csrf = m[1]!;
    return {
      status: res.status,
      headers: res.headers,
      text,
      json: <T>() => JSON.parse(text) as T,
    } satisfies Reply;
  }

  get(path: string, headers: Record<string, string> = {}) {
    return this.request("GET", path, { headers });
  }

  /** POSTs a form with the current CSRF token (unless `_csrf` is given). */
  form(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
    const body = new URLSearchParams({ ...(this.csrf ? { _csrf: this.csrf } : {}), ...fields });
    return this.request("POST", path, {
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body,
    });
  }

  /** JSON request; sends the CSRF header when known. */
  api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const h: Record<string, string> = { ...headers };
    if (body !== undefined) h["content-type"] = "application/json";
    if (this.csrf && !h["x-csrf-token"]) h["x-csrf-token"] = this.csrf;
    return this.request(method, path, {
      headers: h,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  }

  /** Signs in through the JSON API and remembers the CSRF token it returns. */
  async login(email: string, password: string) {
    const r = await this.api("POST", "/api/auth/login", { email, password });
    if (r.status !== 200) throw new Error(`login ${email}: ${r.status} ${r.text}`);
    this.csrf = r.json<{ csrfToken: string }>().csrfToken;
    return r;
  }
}

export const ADMIN = { email: "admin@example.com", name: "Ada Admin", password: "correct horse battery" };
export const ALICE = { email: "alice@example.com", name: "Alice", password: "alice's long passphrase" };
export const BOB = { email: "bob@example.com", name: "Bob", password: "bob's long passphrase!" };

/** Creates the first admin through the API and returns a browser signed in as them. */
export async function setupAdmin(server: AuthTestServer): Promise<Browser> {
  const b = new Browser(server.url);
  const r = await b.api("POST", "/api/auth/register", { ...ADMIN, setupToken: server.setupToken() });
  if (r.status !== 201) throw new Error(`setup: ${r.status} ${r.text}`);
  b.csrf = r.json<{ csrfToken: string }>().csrfToken;
  return b;
}

/** Creates a user through the admin API and returns a browser signed in as them. */
export async function addUser(server: AuthTestServer, admin: Browser, who: typeof ALICE): Promise<Browser> {
  const r = await admin.api("POST", "/api/users", { ...who, role: "user" });
  if (r.status !== 201) throw new Error(`add user: ${r.status} ${r.text}`);
  const b = new Browser(server.url);
  await b.login(who.email, who.password);
  return b;
}
