/**
 * The snapshot browser in Chromium, on a server of its own: back up a folder, open its snapshot,
 * expand a folder lazily, find a file by search and download it; a restore waiting behind a
 * running backup is cancelled from its page; a folder restored with "keep both" is watched live
 * (the page follows GET /api/restores/:id/events) until it finishes; axe (WCAG 2.1 AA) on the
 * list, the browser and the restore page, waiting and finished.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AxeBuilder } from "@axe-core/playwright";
import { type APIRequestContext, expect, type Page, test } from "@playwright/test";
import { type OwnServer, startOwnServer } from "./own-server.ts";

const admin = { name: "Sam Snap", email: "sam@example.com", password: "snapshot long passphrase" };
let server: OwnServer;
let work: string;
let src: string;

async function axeViolations(page: Page) {
  const result = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

test.beforeAll(async () => {
  server = await startOwnServer("snapshots");
  work = mkdtempSync(join(tmpdir(), "backapp-e2e-snap-"));
  src = join(work, "src");
  mkdirSync(join(src, "notes", "2026"), { recursive: true });
  mkdirSync(join(src, "photos"), { recursive: true });
  writeFileSync(join(src, "notes", "2026", "needle-report.txt"), "the needle in the haystack\n");
  for (let i = 0; i < 5; i++) writeFileSync(join(src, "photos", `img-${i}.jpg`), Buffer.alloc(50_000 + i, i));
});

test.afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Backs the folder up; the destination's id. */
async function backUp(request: APIRequestContext, csrf: string): Promise<string> {
  const headers = { origin: server.base, "x-csrf-token": csrf };
  const d = await request.post(`${server.base}/api/destinations`, {
    headers,
    data: {
      type: "local",
      name: "disk",
      path: join(work, "repo"),
      password: "repository passphrase for e2e",
    },
  });
  expect(d.status()).toBe(201);
  const j = await request.post(`${server.base}/api/configs`, {
    headers,
    data: {
      name: "Home",
      sources: [{ path: src }],
      destinationId: (await d.json()).id,
      schedule: { cronExpression: "", timezone: "UTC" },
    },
  });
  const run = await request.post(`${server.base}/api/backups/execute/${(await j.json()).id}`, { headers });
  const { logId } = await run.json();
  await expect
    .poll(async () => (await (await request.get(`${server.base}/api/backups/${logId}`)).json()).status, {
      timeout: 60_000,
    })
    .toBe("completed");
  return (await d.json()).id;
}

/**
 * Starts a backup into the destination that holds the repository busy (its pre-hook sleeps), so
 * a restore from it waits in the queue; the run's id, running.
 */
async function holdRepository(request: APIRequestContext, csrf: string, destinationId: string) {
  const headers = { origin: server.base, "x-csrf-token": csrf };
  const j = await request.post(`${server.base}/api/configs`, {
    headers,
    data: {
      name: "Slow",
      sources: [{ path: src }],
      destinationId,
      schedule: { cronExpression: "", timezone: "UTC" },
      hooks: { pre: { command: "sleep 120", timeoutSeconds: 300 } },
    },
  });
  expect(j.status()).toBe(201);
  const run = await request.post(`${server.base}/api/backups/execute/${(await j.json()).id}`, { headers });
  const { logId } = await run.json();
  await expect
    .poll(async () => (await (await request.get(`${server.base}/api/backups/${logId}`)).json()).status)
    .toBe("running");
  return async () => {
    const r = await request.post(`${server.base}/api/backups/${logId}/cancel`, { headers });
    expect(await r.json()).toMatchObject({ cancelled: true });
    await expect
      .poll(async () => (await (await request.get(`${server.base}/api/backups/${logId}`)).json()).status)
      .toBe("cancelled");
  };
}

test("find a file by search and download it; restore a folder and watch it finish", async ({ page }) => {
  test.setTimeout(240_000);
  const reg = await page.request.post(`${server.base}/api/auth/register`, {
    headers: { origin: server.base },
    data: { ...admin, setupToken: server.setupToken() },
  });
  expect(reg.status()).toBe(201);
  const csrf = (await reg.json()).csrfToken;
  const destinationId = await backUp(page.request, csrf);

  await page.goto(`${server.base}/snapshots`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Snapshots");
  expect(await axeViolations(page)).toEqual([]);
  await page.getByRole("table").getByRole("link").first().click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Snapshot");

  // Folders open lazily: the first one's children arrive by htmx.
  const first = page.locator(".snapshot-tree summary").first();
  await first.click();
  await expect(page.locator(".snapshot-tree .snapshot-tree .tree-entry").first()).toBeVisible();
  expect(await axeViolations(page)).toEqual([]);

  await page.getByLabel("Name contains").fill("needle");
  await page.getByRole("button", { name: "Search" }).click();
  const result = page.locator("#search-results li").filter({ hasText: "needle-report.txt" });
  await expect(result).toBeVisible();
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    result.getByRole("link", { name: /Download/ }).click(),
  ]);
  expect(download.suggestedFilename()).toBe("needle-report.txt");
  expect(readFileSync(await download.path(), "utf8")).toBe("the needle in the haystack\n");

  const url = new URL(page.url());
  const token = Buffer.from(join(src, "photos")).toString("base64url");
  const photos = `${url.origin}${url.pathname}?destinationId=${url.searchParams.get("destinationId")}&p=${token}`;
  const target = join(work, "restored");
  const startRestore = async (existing: string) => {
    await page.goto(photos);
    await page.getByLabel("Restore into folder on the server").fill(target);
    await page.getByLabel(existing).check();
    await page.getByRole("button", { name: "Start restore" }).click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Restore");
  };

  // A restore waiting behind a running backup of the same repository: cancel it from its page.
  const release = await holdRepository(page.request, csrf, destinationId);
  await startRestore("Skip");
  await expect(page.locator("[data-status]")).toHaveText("queued");
  await expect(page.locator('[data-field="phase"]')).toHaveText("Waiting to start");
  expect(await axeViolations(page)).toEqual([]);
  await page.screenshot({ path: ".tmp/screenshots/restore-waiting.png", fullPage: true });
  await page.getByRole("button", { name: "Cancel restore" }).click();
  await expect(page.locator("[data-status]")).toHaveText("cancelled");
  await expect(page.getByRole("button", { name: "Cancel restore" })).toHaveCount(0);
  await release();

  // Restore the photos folder next to a changed copy (keep both) and watch it to its end live:
  // the page only changes through the event stream (no polling), whose `done` swaps the summary in.
  mkdirSync(join(target, src, "photos"), { recursive: true });
  writeFileSync(join(target, src, "photos", "img-0.jpg"), "mine");
  await startRestore("Keep both");
  await expect(page.locator("#restore-announce")).toHaveText("Restore completed.", { timeout: 90_000 });
  await expect(page.locator("[data-status]")).toHaveText("completed");
  await expect(page.getByText("This restore completed.")).toBeVisible();
  await expect(page.getByText("5 files")).toBeVisible();
  expect(await axeViolations(page)).toEqual([]);
  expect(readFileSync(join(target, src, "photos", "img-0.jpg"), "utf8")).toBe("mine");
  expect(
    readFileSync(join(target, src, "photos", "img-0 (restored).jpg")).equals(Buffer.alloc(50_000, 0)),
  ).toBe(true);
  expect(readFileSync(join(target, src, "photos", "img-4.jpg")).equals(Buffer.alloc(50_004, 4))).toBe(true);
  await page.screenshot({ path: ".tmp/screenshots/snapshots.png", fullPage: true });
});
