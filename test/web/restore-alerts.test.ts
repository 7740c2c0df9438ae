/**
 * A failed restore is reported like a failed backup, through the real server and real restores
 * (local folder repository): it raises one `restore_failed` alert (a second failure bumps its
 * count), delivered to a webhook (signed, verified elsewhere) and by email; the next complete restore from that destination resolves the alert; the alerts
 * page and the notification settings list the kind.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuthTestServer, type Browser, setupAdmin, startAuthServer } from "../helpers/auth-server.ts";
import { backUpToFolder } from "../helpers/backed-up.ts";
import { startSmtp } from "../helpers/smtp.ts";
import { tempDir } from "../helpers/temp.ts";
import { startReceiver } from "../helpers/webhook-receiver.ts";

interface Alert {
  id: string;
  type: string;
  kind: string;
  configId: string | null;
  message: string;
  count: number;
  resolvedAt: string | null;
}

let server: AuthTestServer;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
let hooks: ReturnType<typeof startReceiver>;
let admin: Browser;
const work = tempDir("backapp-restore-alerts-");
const src = join(work.path, "src");
const repo = join(work.path, "repo");
let destinationId = "";

async function until<T>(read: () => T | Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const v = await read();
    if (ok(v)) return v;
    await Bun.sleep(100);
  }
  throw new Error(`gave up waiting for ${what}`);
}

async function restoreToEnd(target: string): Promise<{ id: string; status: string; reason: string | null }> {
  const r = await admin.api("POST", "/api/restores", { destinationId, snapshotId: "latest", target });
  expect(r.status).toBe(202);
  const { restoreId } = r.json<{ restoreId: string }>();
  return until(
    async () =>
      (await admin.api("GET", `/api/restores/${restoreId}`)).json<{
        id: string;
        status: string;
        reason: string | null;
      }>(),
    (b) => b.status !== "queued" && b.status !== "running",
    "the restore to end",
  );
}

const restoreAlerts = async (status = "") =>
  (await admin.api("GET", `/api/alerts${status ? `?status=${status}` : ""}`))
    .json<{ items: Alert[] }>()
    .items.filter((a) => a.kind === "restore_failed");

beforeAll(async () => {
  smtp = await startSmtp({ disabledCommands: ["STARTTLS"] });
  hooks = startReceiver();
  server = await startAuthServer();
  admin = await setupAdmin(server);
  const mail = { host: "127.0.0.1", port: smtp.port, security: "none", from: "backapp@example.com" };
  expect((await admin.api("PUT", "/api/settings/smtp", mail)).status).toBe(200);
  expect((await admin.api("PUT", "/api/settings/notifications", { allowPrivateTargets: true })).status).toBe(
    200,
  );
  const channel = (body: Record<string, unknown>) => admin.api("POST", "/api/notifications/channels", body);
  const hook = { type: "webhook", name: "hook", target: `${hooks.url}/in`, events: ["restore_failed"] };
  expect((await channel(hook)).status).toBe(201);
  expect(
    (await channel({ type: "email", name: "mail", target: "ops@example.com", events: ["restore_failed"] }))
      .status,
  ).toBe(201);
  mkdirSync(join(src, "docs"), { recursive: true });
  writeFileSync(join(src, "docs", "a.txt"), "alpha");
  writeFileSync(join(src, "docs", "b.bin"), Buffer.alloc(300_000, 7));
  destinationId = await backUpToFolder(admin, src, repo);
}, 180_000);

afterAll(async () => {
  await server.stop();
  await smtp.close();
  hooks.stop();
  work.cleanup();
});

describe("restore_failed alerts from real restores", () => {
  it("a restore into a target it cannot write fails and raises one alert, notified by webhook and email", async () => {
    const blocked = join(work.path, "not-a-folder");
    writeFileSync(blocked, "a file where the target folder should be");
    const end = await restoreToEnd(blocked);
    expect(end.status).toBe("failed");
    const open = await until(restoreAlerts, (a) => a.length > 0, "the alert");
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ type: "failure", kind: "restore_failed", configId: null, count: 1 });
    expect(open[0]?.message).toContain('"disk"');

    const [delivery] = await until(
      () => hooks.requests,
      (r) => r.length >= 1,
      "the webhook",
    );
    expect(delivery?.headers["x-backapp-event"]).toBe("restore_failed");
    const payload = JSON.parse(delivery?.body ?? "{}") as { event: string; alert: Alert };
    expect(payload.alert).toMatchObject({ id: open[0]?.id, kind: "restore_failed" });
    const [mail] = await smtp.waitFor(1);
    expect(mail?.to).toEqual(["ops@example.com"]);
    expect(mail?.html).toContain("A restore failed");
    expect(mail?.text).toContain('"disk" failed');

    // The same problem again: one alert, its count bumped.
    expect((await restoreToEnd(blocked)).status).toBe("failed");
    const again = await restoreAlerts("open");
    expect(again.map((a) => [a.id, a.count])).toEqual([[open[0]?.id, 2]]);
  }, 180_000);

  it("a complete restore from the destination resolves the alert", async () => {
    expect((await restoreToEnd(join(work.path, "t-good"))).status).toBe("completed");
    expect(await restoreAlerts("open")).toEqual([]);
    expect((await restoreAlerts("resolved")).map((a) => a.count)).toEqual([2]);
  }, 180_000);

  it("packs removed from the destination fail the next restore: a new alert is raised", async () => {
    const data = join(repo, "data");
    const packs = readdirSync(data, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(packs.length).toBeGreaterThan(0);
    for (const p of packs) rmSync(join(p.parentPath, p.name));
    const end = await restoreToEnd(join(work.path, "t-missing"));
    expect(["failed", "partial"]).toContain(end.status);
    const open = await until(
      () => restoreAlerts("open"),
      (a) => a.length > 0,
      "the new alert",
    );
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ count: 1, type: end.status === "failed" ? "failure" : "warning" });
    expect(hooks.requests.filter((r) => r.headers["x-backapp-event"] === "restore_failed").length).toBe(3);
  }, 180_000);

  it("the alerts page and the notification settings name the kind", async () => {
    const alerts = await admin.get("/alerts");
    expect(alerts.status).toBe(200);
    expect(alerts.text).toContain("Failed restore");
    const settings = await admin.get("/settings/notifications");
    expect(settings.text).toContain('name="event-restore_failed"');
  });
});
