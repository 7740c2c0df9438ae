/**
 * Hostile names in Chromium (issue 13): a job, destination and notification channel named with
 * script payloads, files and a missing source folder whose names carry an <img onerror> payload,
 * a failed run and its alert. Every page that shows them, and the folder that htmx loads lazily,
 * is opened in the browser: no dialog opens, window.__pwned stays unset, and no element the
 * payloads would create exists in the DOM (so this holds by escaping, not only by the CSP).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type APIRequestContext, expect, type Page, test } from "@playwright/test";
import { type OwnServer, startOwnServer } from "./own-server.ts";

const XSS = `<script>window.__pwned=1;alert(1)</script>"'><img src=x onerror="window.__pwned=2;alert(2)">`;
const XSS_FILE = `<img src=x onerror=window.__pwned=3;alert(3)>'"&.txt`;
const admin = { name: `Ada ${XSS}`, email: "ada@example.com", password: "hostile long passphrase" };

let server: OwnServer;
let work: string;

test.beforeAll(async () => {
  server = await startOwnServer("hostile");
  work = mkdtempSync(join(tmpdir(), "backapp-e2e-hostile-"));
  mkdirSync(join(work, "src", XSS_FILE.replace(".txt", " dir")), { recursive: true });
  writeFileSync(join(work, "src", XSS_FILE), "payload");
  writeFileSync(join(work, "src", XSS_FILE.replace(".txt", " dir"), "inner.txt"), "inner");
});

test.afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function runToEnd(request: APIRequestContext, headers: Record<string, string>, jobId: string) {
  const run = await request.post(`${server.base}/api/backups/execute/${jobId}`, { headers });
  const { logId } = await run.json();
  await expect
    .poll(async () => (await (await request.get(`${server.base}/api/backups/${logId}`)).json()).status, {
      timeout: 60_000,
    })
    .not.toMatch(/^(queued|running)$/);
  return logId as string;
}

async function seed(request: APIRequestContext) {
  const reg = await request.post(`${server.base}/api/auth/register`, {
    headers: { origin: server.base },
    data: { ...admin, setupToken: server.setupToken() },
  });
  expect(reg.status()).toBe(201);
  const headers = { origin: server.base, "x-csrf-token": (await reg.json()).csrfToken };
  const d = await request.post(`${server.base}/api/destinations`, {
    headers,
    data: {
      type: "local",
      name: `disk ${XSS}`,
      path: join(work, "repo"),
      password: "repository passphrase e2e",
    },
  });
  expect(d.status()).toBe(201);
  const destinationId = (await d.json()).id as string;
  const job = async (name: string, path: string) => {
    const j = await request.post(`${server.base}/api/configs`, {
      headers,
      data: { name, sources: [{ path }], destinationId, schedule: { cronExpression: "", timezone: "UTC" } },
    });
    expect(j.status()).toBe(201);
    return (await j.json()).id as string;
  };
  const good = await job(`job ${XSS}`, join(work, "src"));
  const doomed = join(work, `gone ${XSS_FILE}`);
  mkdirSync(doomed);
  const bad = await job(`failing ${XSS}`, doomed);
  const logId = await runToEnd(request, headers, good);
  rmSync(doomed, { recursive: true });
  const failedId = await runToEnd(request, headers, bad);
  const ch = await request.post(`${server.base}/api/notifications/channels`, {
    headers,
    data: { type: "email", name: `mail ${XSS}`, target: "ops@example.com", events: ["failed_run"] },
  });
  expect(ch.status()).toBe(201);
  return { destinationId, good, logId, failedId };
}

async function expectInert(page: Page, where: string) {
  expect(await page.evaluate(() => (window as { __pwned?: unknown }).__pwned), where).toBeUndefined();
  expect(await page.locator('img[src="x"]').count(), where).toBe(0);
  expect(await page.locator("script:not([src])").count(), where).toBe(0);
}

test("no hostile name runs script on any page that shows it", async ({ page }) => {
  test.setTimeout(180_000);
  const dialogs: string[] = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  const { destinationId, good, logId, failedId } = await seed(page.request);
  const pages = [
    "/",
    "/dashboard",
    "/configs",
    `/configs/${good}/edit`,
    "/destinations",
    `/destinations/${destinationId}/edit`,
    "/backups",
    `/backups/${logId}`,
    `/backups/${failedId}`,
    "/alerts",
    "/settings/notifications",
    "/settings/profile",
    `/snapshots?destinationId=${destinationId}`,
  ];
  for (const path of pages) {
    const res = await page.goto(`${server.base}${path}`);
    expect(res?.status(), path).toBe(200);
    await expectInert(page, path);
  }
  // The names show as the text they are.
  await page.goto(`${server.base}/configs`);
  await expect(page.getByText(`job ${XSS}`).first()).toBeVisible();
  await page.goto(`${server.base}/snapshots?destinationId=${destinationId}`);

  // A snapshot's folders: the hostile names arrive through htmx swaps.
  await page.getByRole("table").getByRole("link").first().click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Snapshot");
  const url = new URL(page.url());
  const token = Buffer.from(join(work, "src")).toString("base64url");
  await page.goto(`${url.origin}${url.pathname}?destinationId=${destinationId}&p=${token}`);
  await expect(page.getByText(XSS_FILE).first()).toBeVisible();
  await expectInert(page, "snapshot folder");
  await page
    .locator(".snapshot-tree summary")
    .filter({ hasText: XSS_FILE.replace(".txt", " dir") })
    .first()
    .click();
  await expect(page.locator(".tree-name", { hasText: "inner.txt" })).toBeVisible();
  await expectInert(page, "snapshot tree");
  await page.getByLabel("Name contains").fill("img");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page.locator("#search-results li").first()).toContainText("<img src=x");
  await expectInert(page, "snapshot search");
  expect(dialogs).toEqual([]);
});
