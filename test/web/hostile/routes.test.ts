/**
 * Every route the app has, enumerated from the Hono app itself (app.routes), so a route added
 * later is covered without editing this file:
 * - every unsafe route (POST/PUT/PATCH/DELETE, and POST to any concrete ALL route) refuses a
 *   cookie-authenticated request without a CSRF token, with a wrong one, and from a foreign Origin;
 * - every route with an id parameter, called by another user with the owner's id, answers exactly
 *   as it does for an id that does not exist (404, or a 400 about the body that says nothing of the
 *   id), never 2xx, 403 or 5xx. A new id route must be classified below or this test fails.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp } from "../../helpers/auth-app.ts";
import type { Browser } from "../../helpers/auth-server.ts";
import { type Hostile, type Ids, startHostile } from "./fixture.ts";

let h: Hostile;
beforeAll(async () => {
  h = await startHostile();
}, 180_000);
afterAll(async () => {
  await h?.stop();
});

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Method and path of every route, middleware guards ("ALL") included, without duplicates. */
function appRoutes(): { method: string; path: string }[] {
  const t = createTestApp();
  const seen = new Map<string, { method: string; path: string }>();
  for (const r of t.app.routes) seen.set(`${r.method} ${r.path}`, { method: r.method, path: r.path });
  t.close();
  return [...seen.values()];
}

/** Which kind of id each parameterised route takes (first match wins). */
const ID_KINDS: [RegExp, keyof Ids | "none"][] = [
  [/^\/static\/:hash\//, "none"],
  [/^\/(api|admin)\/users\/:/, "userId"],
  [/^\/api\/backups\/execute\/:/, "jobId"],
  [/^(\/api)?\/configs\/:/, "jobId"],
  [/^(\/api)?\/destinations\/:/, "destinationId"],
  [/^(\/api\/storage|\/reports)\/prices\/:/, "destinationId"],
  [/^(\/api)?\/backups\/:/, "logId"],
  [/^(\/api\/restores|\/snapshots\/restores)\/:/, "restoreId"],
  [/^(\/api)?\/snapshots\/:/, "snapshotId"],
  [/^(\/api)?\/alerts\/:/, "alertId"],
  [/^(\/api\/notifications\/channels|\/settings\/notifications)\/:/, "channelId"],
  [/^(\/api|\/settings)\/tokens\/:/, "tokenId"],
  [/^(\/api|\/settings)\/sessions\/:/, "sessionId"],
  [/^(\/api|\/admin)\/invites\/:/, "inviteId"],
];

function kindOf(path: string): keyof Ids | "none" {
  const found = ID_KINDS.find(([re]) => re.test(path));
  if (!found) throw new Error(`classify the id route ${path} in ID_KINDS`);
  return found[1];
}

/** The path with every parameter set to `id` (snapshot routes also need their destination). */
function fill(path: string, id: string): string {
  const filled = path.replace(/:[A-Za-z]+(\{[^}]*\})?/g, encodeURIComponent(id));
  return /snapshots\/:/.test(path) ? `${filled}?destinationId=${h.ids.destinationId}` : filled;
}

async function send(who: Browser, method: string, path: string, csrf: string | null, origin?: string) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (csrf !== null) headers["x-csrf-token"] = csrf;
  if (origin) headers.origin = origin;
  return who.request(method, path, { headers, ...(method === "GET" ? {} : { body: "{}" }) });
}

describe("CSRF on every unsafe route", () => {
  it("refuses a cookie-authenticated request without a token, with a wrong one, or from another site", async () => {
    const targets = appRoutes()
      .filter((r) => UNSAFE.has(r.method) || (r.method === "ALL" && !r.path.includes("*")))
      .map((r) => ({ method: r.method === "ALL" ? "POST" : r.method, path: fill(r.path, "x".repeat(32)) }));
    expect(targets.length).toBeGreaterThan(100);
    const token = h.admin.csrf!;
    const refusals: string[] = [];
    for (const { method, path } of targets) {
      for (const [what, csrf, origin] of [
        ["no token", null, undefined],
        ["wrong token", "a".repeat(token.length), undefined],
        ["foreign origin", token, "https://evil.example"],
      ] as const) {
        const r = await send(h.admin, method, path, csrf, origin);
        const refused = r.status === 403 && /Reload the page|Cross-site request refused/.test(r.text);
        if (!refused) refusals.push(`${method} ${path} (${what}) → ${r.status}`);
      }
    }
    expect(refusals).toEqual([]);
    // The admin's session survived all of that (no unsafe route ran).
    expect((await h.admin.get("/api/auth/session")).status).toBe(200);
  });
});

describe("another user's ids", () => {
  it("answer on every id route exactly as an id that does not exist does", async () => {
    const routes = appRoutes().filter((r) => r.method !== "ALL" && r.path.includes("/:"));
    const leaks: string[] = [];
    let tried = 0;
    for (const { method, path } of routes) {
      const kind = kindOf(path);
      if (kind === "none") continue;
      const real = h.ids[kind];
      const theirs = await send(h.alice, method, fill(path, real), h.alice.csrf);
      const nobody = await send(h.alice, method, fill(path, "z".repeat(real.length)), h.alice.csrf);
      tried++;
      const same =
        theirs.status === nobody.status &&
        theirs.text.split(real).join("z".repeat(real.length)) === nobody.text;
      if (![400, 404].includes(theirs.status) || !same) {
        leaks.push(
          `${method} ${path} → ${theirs.status} (unknown id: ${nobody.status}) ${theirs.text.slice(0, 120)}`,
        );
      }
    }
    expect(tried).toBeGreaterThan(60);
    expect(leaks).toEqual([]);
    // And the owner still has everything (nothing was changed by alice's attempts).
    for (const path of [`/api/configs/${h.ids.jobId}`, `/api/destinations/${h.ids.destinationId}`]) {
      expect((await h.admin.get(path)).status, path).toBe(200);
    }
  });
});
