/**
 * Rate limits through the real server behind a trusted proxy (so each request can come from its
 * own client address): per account across addresses, and for registration and password reset.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, type AuthTestServer, Browser, setupAdmin, startAuthServer } from "../helpers/auth-server.ts";

let server: AuthTestServer;
beforeAll(async () => {
  // A network in CIDR form, plus entries that match nothing (a name, a bad prefix).
  server = await startAuthServer({ trustedProxies: ["proxy.local", "10.0.0.0/99", "127.0.0.0/8"] });
  await setupAdmin(server);
});
afterAll(async () => {
  await server.stop();
});

const from = (ip: string) => ({ "x-forwarded-for": ip });

async function burst(n: number, send: (i: number) => Promise<{ status: number; headers: Headers }>) {
  const replies = [];
  for (let i = 0; i < n; i++) replies.push(await send(i));
  return replies;
}

describe("rate limits", () => {
  it("11 bad logins for one account from 11 addresses: the 11th answers 429, known or not", async () => {
    for (const [email, net] of [
      [ADMIN.email, "198.51.100"],
      ["ghost@example.com", "203.0.113"],
    ] as const) {
      const replies = await burst(11, (i) =>
        new Browser(server.url).api(
          "POST",
          "/api/auth/login",
          { email, password: `bad ${i}` },
          from(`${net}.${i}`),
        ),
      );
      expect(replies.map((r) => r.status)).toEqual([...Array(10).fill(401), 429]);
      expect(Number(replies[10]!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    }
    // Another account from a fresh address is not affected.
    const other = await new Browser(server.url).api(
      "POST",
      "/api/auth/login",
      { email: "third@example.com", password: "bad" },
      from("192.0.2.200"),
    );
    expect(other.status).toBe(401);
  });

  it("registration and password reset: 429 with Retry-After after 10 a minute per address", async () => {
    const b = new Browser(server.url);
    const reg = await burst(11, (i) =>
      b.api(
        "POST",
        "/api/auth/register",
        { email: `r${i}@example.com`, name: "R", password: "registration long secret" },
        from("192.0.2.10"),
      ),
    );
    expect(reg.map((r) => r.status)).toEqual([...Array(10).fill(403), 429]);
    const forgot = await burst(11, () =>
      b.api("POST", "/api/auth/forgot-password", { email: "x@example.com" }, from("192.0.2.11")),
    );
    expect(forgot.map((r) => r.status)).toEqual([...Array(10).fill(202), 429]);
    expect(forgot[10]!.headers.get("retry-after")).toMatch(/^\d+$/);
    const reset = await burst(11, () =>
      b.api(
        "POST",
        "/api/auth/reset-password",
        { token: "a.b", password: "reset long secret" },
        from("192.0.2.12"),
      ),
    );
    expect(reset.map((r) => r.status)).toEqual([...Array(10).fill(400), 429]);
    // Per account too: one email asked for from eleven addresses.
    const perAccount = await burst(11, (i) =>
      b.api("POST", "/api/auth/forgot-password", { email: ADMIN.email }, from(`192.0.2.${100 + i}`)),
    );
    expect(perAccount.map((r) => r.status)).toEqual([...Array(10).fill(202), 429]);
  });
});
