/**
 * One signed-in real server holding one thing of every kind an id route names (destination, job,
 * run, snapshot, restore, alert, channel, token, session, invite, user), owned by the admin, plus
 * a second user (alice) who owns nothing. Names carry hostile payloads so the same fixture serves
 * the escaping checks. Seeded: fixed names and contents, nothing random but the ids.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import {
  ALICE,
  type AuthTestServer,
  addUser,
  type Browser,
  setupAdmin,
  startAuthServer,
} from "../../helpers/auth-server.ts";
import { tempDir } from "../../helpers/temp.ts";

/** Breaks out of text, attributes and script contexts; sets window.__pwned if it ever runs. */
export const XSS = `<script>window.__pwned=1</script>"'><img src=x onerror="window.__pwned=2">`;
/** A file name may not hold "/": the payload without it. */
export const XSS_FILE = `<img src=x onerror=window.__pwned=3>'"&.txt`;

export interface Ids {
  destinationId: string;
  jobId: string;
  failingJobId: string;
  logId: string;
  snapshotId: string;
  restoreId: string;
  alertId: string;
  channelId: string;
  tokenId: string;
  sessionId: string;
  inviteId: string;
  userId: string;
}

export interface Hostile {
  server: AuthTestServer;
  admin: Browser;
  alice: Browser;
  work: string;
  src: string;
  ids: Ids;
  stop(): Promise<void>;
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const v = await read();
    if (ok(v)) return v;
    await Bun.sleep(50);
  }
  throw new Error(`gave up waiting for ${what}`);
}

type Log = { status: string; snapshotId: string | null };

async function runToEnd(admin: Browser, jobId: string): Promise<{ logId: string; log: Log }> {
  const r = await admin.api("POST", `/api/backups/execute/${jobId}`);
  expect(r.status).toBe(202);
  const { logId } = r.json<{ logId: string }>();
  const log = await until(
    async () => (await admin.api("GET", `/api/backups/${logId}`)).json<Log>(),
    (l) => l.status !== "queued" && l.status !== "running",
    "the run to end",
  );
  return { logId, log };
}

type Json = Record<string, unknown>;

async function created(
  reply: Promise<{ status: number; json<T>(): T; text: string }>,
  pick: (body: Json) => unknown = (b) => b.id,
): Promise<string> {
  const r = await reply;
  if (r.status !== 201 && r.status !== 202) throw new Error(`${r.status} ${r.text}`);
  return String(pick(r.json<Json>()) ?? "");
}

export async function startHostile(): Promise<Hostile> {
  const dir = tempDir("backapp-hostile-");
  const work = dir.path;
  const src = join(work, "src");
  mkdirSync(join(src, XSS_FILE.replace(".txt", " dir")), { recursive: true });
  writeFileSync(join(src, XSS_FILE), "payload file");
  writeFileSync(join(src, "plain.txt"), "plain");
  const server = await startAuthServer();
  const admin = await setupAdmin(server);
  const alice = await addUser(server, admin, ALICE);
  const destinationId = await created(
    admin.api("POST", "/api/destinations", {
      type: "local",
      name: `disk ${XSS}`,
      path: join(work, "repo"),
      password: "a long repository passphrase for tests",
    }),
  );
  const job = (name: string, path: string) =>
    created(
      admin.api("POST", "/api/configs", {
        name,
        sources: [{ path }],
        destinationId,
        schedule: { cronExpression: "", timezone: "UTC" },
      }),
    );
  const jobId = await job(`job ${XSS}`, src);
  const doomed = join(work, `gone ${XSS_FILE}`);
  mkdirSync(doomed);
  const failingJobId = await job(`failing ${XSS}`, doomed);
  const { logId, log } = await runToEnd(admin, jobId);
  expect(log.status).toBe("completed");
  rmSync(doomed, { recursive: true });
  expect((await runToEnd(admin, failingJobId)).log.status).toBe("failed");
  const alerts = (await admin.api("GET", "/api/alerts")).json<{ items: { id: string }[] }>().items;
  const restoreId = await created(
    admin.api("POST", "/api/restores", {
      destinationId,
      snapshotId: log.snapshotId,
      paths: [],
      target: join(work, "restored"),
      existing: "skip",
    }),
    (b) => b.restoreId,
  );
  const channelId = await created(
    admin.api("POST", "/api/notifications/channels", {
      type: "email",
      name: `mail ${XSS}`,
      target: "ops@example.com",
      events: ["failed_run"],
    }),
    (b) => (b.channel as Json).id,
  );
  const tokenId = await created(admin.api("POST", "/api/tokens", { name: `token ${XSS}` }));
  const inviteId = await created(
    admin.api("POST", "/api/invites", { role: "user", expiresInHours: 2 }),
    (b) => String(b.token).split(".")[0],
  );
  const sessions = (await admin.get("/api/sessions")).json<{ sessions: { id: string }[] }>().sessions;
  const me = (await admin.get("/api/auth/session")).json<{ user: { id: string } }>().user;
  const ids: Ids = {
    destinationId,
    jobId,
    failingJobId,
    logId,
    snapshotId: log.snapshotId ?? "",
    restoreId,
    alertId: alerts[0]?.id ?? "",
    channelId,
    tokenId,
    sessionId: sessions[0]?.id ?? "",
    inviteId,
    userId: me.id,
  };
  for (const [k, v] of Object.entries(ids)) if (!v) throw new Error(`fixture: no ${k}`);
  return {
    server,
    admin,
    alice,
    work,
    src,
    ids,
    async stop() {
      await server.stop();
      dir.cleanup();
    },
  };
}
