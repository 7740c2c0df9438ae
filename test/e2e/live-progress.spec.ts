/**
 * Live progress in Chromium, on a server of its own: run a job whose uploads are throttled so the
 * run takes a while, watch the run page's progress bar move (htmx SSE), see /configs list the run
 * live, and see the page turn into the summary without a reload; /backups filters; axe at WCAG 2.1
 * AA on /backups and /backups/:id (running and finished). Leaves .tmp/screenshots/run-live.png,
 * run-finished.png, configs-running.png and backups.png.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AxeBuilder } from "@axe-core/playwright";
import { expect, type Page, test } from "@playwright/test";
import { type OwnServer, startOwnServer } from "./own-server.ts";

const admin = { name: "Lena Live", email: "lena@example.com", password: "live long passphrase" };
/** 64 MiB: the bar counts stored data, which moves in steps of one 16 MiB pack. */
const FILES = 128;
let server: OwnServer;
let work: string;

test.beforeAll(async () => {
  server = await startOwnServer("live");
  work = mkdtempSync(join(tmpdir(), "backapp-e2e-live-src-"));
  const src = join(work, "src", "photos", "2026");
  mkdirSync(src, { recursive: true });
  for (let i = 0; i < FILES; i++) writeFileSync(join(src, `IMG_${1000 + i}.raw`), randomBytes(512 * 1024));
});

test.afterAll(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function axeViolations(page: Page) {
  const result = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

test("watch a run's progress bar move and turn into the summary", async ({ page }) => {
  test.setTimeout(240_000);
  const reg = await page.request.post(`${server.base}/api/auth/register`, {
    data: { ...admin, setupToken: server.setupToken() },
    headers: { origin: server.base },
  });
  expect(reg.status()).toBe(201);
  const headers = { origin: server.base, "x-csrf-token": (await reg.json()).csrfToken as string };
  const dest = await page.request.post(`${server.base}/api/destinations`, {
    headers,
    data: {
      type: "local",
      name: "Backup disk",
      path: join(work, "repo"),
      password: "a long repository passphrase",
    },
  });
  expect(dest.status()).toBe(201);
  // 64 MiB of random data uploaded at 4 MB/s: about fifteen seconds to watch.
  const job = await page.request.post(`${server.base}/api/configs`, {
    headers,
    data: {
      name: "Photos",
      sources: [{ path: join(work, "src") }],
      destinationId: (await dest.json()).id,
      schedule: { cronExpression: "", timezone: "UTC" },
      options: { bandwidth: 4000 },
    },
  });
  expect(job.status()).toBe(201);
  const jobId = (await job.json()).id as string;

  await page.goto(`${server.base}/configs`);
  await page.getByRole("button", { name: "Run Photos now" }).click();

  const running = page.locator("#running-now");
  await expect(running.getByRole("link", { name: "Photos" })).toBeVisible({ timeout: 45_000 });
  await expect(running.getByRole("progressbar", { name: "Progress of Photos" })).toBeVisible();
  await expect(page.locator(`#job-live-${jobId}`)).toContainText(/Backing up|Starting|Waiting/);
  await page.screenshot({ path: ".tmp/screenshots/configs-running.png", fullPage: true });

  await running.getByRole("link", { name: "Photos" }).click();
  const bar = page.getByRole("progressbar", { name: "Progress of this run" });
  await expect(bar).toBeVisible();
  const value = async () => Number((await bar.getAttribute("value")) ?? "0");
  await expect.poll(value, { timeout: 60_000 }).toBeGreaterThan(0);
  const first = await value();
  await expect.poll(value, { timeout: 60_000 }).toBeGreaterThan(first);
  await expect(page.locator(".run-counters")).toContainText(`of ${FILES}`);
  await expect(page.locator(".run-counters")).toContainText("/s");
  await page.screenshot({ path: ".tmp/screenshots/run-live.png", fullPage: true });
  expect(await axeViolations(page)).toEqual([]);

  // The page turns into the summary without a reload: the same document, no progress bar.
  await page.evaluate(() => {
    (window as unknown as { marker: string }).marker = "same page";
  });
  await expect(page.getByText("This run completed.")).toBeVisible({ timeout: 120_000 });
  await expect(bar).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Cancel run" })).toHaveCount(0);
  await expect(page.locator(".run-facts")).toContainText(`${FILES} read`);
  await expect(page.locator(".run-facts code")).toHaveText(/^[0-9a-f]{8,}/);
  expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe("same page");
  await page.screenshot({ path: ".tmp/screenshots/run-finished.png", fullPage: true });
  expect(await axeViolations(page)).toEqual([]);

  await page.goto(`${server.base}/backups`);
  await page.getByLabel("Status").selectOption("completed");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/status=completed/);
  await expect(page.getByRole("table")).toContainText("Photos");
  await page.getByLabel("Status").selectOption("failed");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.getByText("No runs match these filters.")).toBeVisible();
  await page.getByRole("link", { name: "Clear filters" }).click();
  await expect(page.getByRole("table")).toContainText("completed");
  expect(await axeViolations(page)).toEqual([]);
  await page.screenshot({ path: ".tmp/screenshots/backups.png", fullPage: true });
});
