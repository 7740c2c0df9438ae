/** Single-use things used at once through the real server: exactly one request wins. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALICE, type AuthTestServer, addUser, Browser, startAuthServer } from "../helpers/auth-server.ts";

let server: AuthTestServer;
beforeAll(async () => {
  server = await startAuthServer();
});
afterAll(async () => {
  await server.stop();
});

const statuses = (replies: { status: number }[]) => replies.map((r) => r.status).sort();

describe("races", () => {
  let admin: Browser;

  it("five setups with the right token at once create exactly one admin", async () => {
    const token = server.setupToken();
    const browsers = [0, 1, 2, 3, 4].map(() => new Browser(server.url));
    const replies = await Promise.all(
      browsers.map((b, i) =>
        b.api("POST", "/api/auth/register", {
          email: `first${i}@example.com`,
          name: `First ${i}`,
          password: "a racing long passphrase",
          setupToken: token,
        }),
      ),
    );
    expect(statuses(replies)).toEqual([201, 403, 403, 403, 403]);
    const winner = replies.findIndex((r) => r.status === 201);
    admin = browsers[winner]!;
    admin.csrf = replies[winner]!.json<{ csrfToken: string }>().csrfToken;
    const users = (await admin.get("/api/users")).json<{ users: { role: string }[] }>().users;
    expect(users).toEqual([expect.objectContaining({ role: "admin" })]);
  });

  it("an invite used by three people at once admits one", async () => {
    const { token } = (await admin.api("POST", "/api/invites", { role: "user" })).json<{ token: string }>();
    const replies = await Promise.all(
      [0, 1, 2].map((i) =>
        new Browser(server.url).api("POST", "/api/auth/register", {
          email: `invited${i}@example.com`,
          name: `Invited ${i}`,
          password: "an invited long passphrase",
          invite: token,
        }),
      ),
    );
    expect(statuses(replies)).toEqual([201, 403, 403]);
  });

  it("a reset link used twice at once sets one password", async () => {
    await addUser(server, admin, ALICE);
    const users = (await admin.get("/api/users")).json<{ users: { id: string; email: string }[] }>().users;
    const alice = users.find((u) => u.email === ALICE.email)!;
    const { url } = (await admin.api("POST", `/api/users/${alice.id}/reset-link`)).json<{ url: string }>();
    const token = decodeURIComponent(url.split("token=")[1]!);
    const replies = await Promise.all(
      ["first new passphrase", "second new passphrase"].map((password) =>
        new Browser(server.url).api("POST", "/api/auth/reset-password", { token, password }),
      ),
    );
    expect(statuses(replies)).toEqual([204, 400]);
  });
});
