/**
 * Floods and internal targets through the real server: live-view (SSE) streams are capped per user
 * even when many open at once, other users keep theirs, a slot comes back when a client leaves,
 * and the server answers normally throughout; webhooks aimed at the server itself or the private
 * network, however the address is spelled, are refused by default and nothing reaches them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALICE,
  type AuthTestServer,
  addUser,
  BOB,
  type Browser,
  setupAdmin,
  startAuthServer,
} from "../../helpers/auth-server.ts";
import { openSse, type SseClient } from "../../helpers/sse.ts";
import { startReceiver } from "../../helpers/webhook-receiver.ts";

let server: AuthTestServer;
let admin: Browser;
let alice: Browser;
let bob: Browser;
const receiver = startReceiver();

beforeAll(async () => {
  server = await startAuthServer();
  admin = await setupAdmin(server);
  alice = await addUser(server, admin, ALICE);
  bob = await addUser(server, admin, BOB);
});
afterAll(async () => {
  await server.stop();
  receiver.stop();
});

const cookieOf = (b: Browser) => ({ cookie: [...b.cookies].map(([k, v]) => `${k}=${v}`).join("; ") });

async function until(ok: () => Promise<boolean>, what: string) {
  for (let i = 0; i < 400; i++) {
    if (await ok()) return;
    await Bun.sleep(25);
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe("a flood of live views", () => {
  it("is capped per user, also when 40 open at once; others keep theirs; a slot comes back on close", async () => {
    const url = `${server.url}/backups/live/running`;
    const flood = await Promise.all(Array.from({ length: 40 }, () => openSse(url, cookieOf(alice))));
    const open = flood.filter((s) => s.status === 200);
    const refused = flood.filter((s) => s.status === 429);
    expect([open.length, refused.length]).toEqual([5, 35]);
    expect(refused[0]?.headers.get("retry-after")).toBe("30");
    for (const s of refused) s.close();
    // Bob's cap is his own, and the server answers pages and health checks meanwhile.
    const bobs: SseClient = await openSse(url, cookieOf(bob));
    expect(bobs.status).toBe(200);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await alice.get("/")).status).toBe(200);
    open[0]?.close();
    let again: SseClient | null = null;
    await until(async () => {
      again?.close();
      again = await openSse(url, cookieOf(alice));
      return again.status === 200;
    }, "a slot to come back");
    for (const s of [...open, bobs]) s.close();
    (again as SseClient | null)?.close();
  });

  it("the API's live streams share the cap, and an unknown run's stream is 404, not a slot", async () => {
    // Bob's stream from the test above was closed by the client; the server frees its slot when it
    // sees the socket end, which on a loaded machine can come after this test starts. So a refused
    // open is tried again until five are held.
    const held: SseClient[] = [];
    await until(async () => {
      const s = await openSse(`${server.url}/backups/live/running`, cookieOf(bob));
      if (s.status === 200) held.push(s);
      else s.close();
      return held.length === 5;
    }, "five streams");
    const unknown = await openSse(`${server.url}/api/backups/${"z".repeat(32)}/events`, cookieOf(bob));
    expect(unknown.status).toBe(404);
    const sixth = await openSse(`${server.url}/backups/live/running`, cookieOf(bob));
    expect(sixth.status).toBe(429);
    for (const s of [...held, sixth, unknown]) s.close();
  });
});

describe("webhooks aimed inside", () => {
  const port = receiver.port;
  const internal = [
    [`http://127.0.0.1:${port}/hook`, /loopback/],
    [`http://localhost:${port}/hook`, /loopback/], // a DNS name that resolves to 127.0.0.1 / ::1
    [`http://[::1]:${port}/hook`, /loopback/],
    [`http://[::ffff:127.0.0.1]:${port}/hook`, /loopback/], // IPv4-mapped IPv6
    [`http://[::ffff:7f00:1]:${port}/hook`, /loopback/],
    [`http://2130706433:${port}/hook`, /loopback/], // decimal 127.0.0.1
    [`http://0177.0.0.1:${port}/hook`, /loopback/], // octal
    [`http://0x7f.1:${port}/hook`, /loopback/], // hex, short form
    [`http://127.1:${port}/hook`, /loopback/],
    [`http://0.0.0.0:${port}/hook`, /unspecified/],
    ["http://169.254.169.254/latest/meta-data/", /link-local/], // cloud metadata
    ["http://10.1.2.3/hook", /private/],
    ["http://192.168.1.1/hook", /private/],
    ["http://[fd00::1]/hook", /(unique local|private)/],
    ["http://[fe80::1]/hook", /link-local/],
  ] as const;

  it("are refused by default on the test button, however the address is spelled, and nothing arrives", async () => {
    const before = receiver.requests.length;
    // The test button is rate-limited per user: spread the tries over three users.
    for (const [i, [target, reason]] of internal.entries()) {
      const who = [alice, bob, admin][i % 3] as Browser;
      const created = await who.api("POST", "/api/notifications/channels", {
        type: "webhook",
        name: "inside",
        target,
        events: ["failed_run"],
      });
      // Some spellings are refused when saved already; the rest when used.
      if (created.status === 400) continue;
      expect([target, created.status]).toEqual([target, 201]);
      const id = created.json<{ channel: { id: string } }>().channel.id;
      const sent = await who.api("POST", `/api/notifications/channels/${id}/test`);
      expect([target, sent.status]).toEqual([target, 502]);
      expect(sent.json<{ error: { message: string } }>().error.message, target).toMatch(reason);
    }
    expect(receiver.requests.length).toBe(before);
  });

  it("a URL that is not http(s) is refused when saved", async () => {
    for (const target of [
      "file:///etc/passwd",
      "gopher://127.0.0.1:70/_x",
      "ftp://example.com/",
      "javascript:alert(1)",
    ]) {
      const r = await alice.api("POST", "/api/notifications/channels", {
        type: "webhook",
        name: "scheme",
        target,
        events: ["failed_run"],
      });
      expect([target, r.status]).toEqual([target, 400]);
    }
  });
});
