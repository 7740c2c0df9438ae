/**
 * Backup jobs in Chromium against a real server of its own and a local folder destination: create
 * a job through the form (an inline error first), see it listed with its schedule in words and its
 * next run in its zone, switch it off and on without a page load, validate it, run it now and see
 * the run complete. Screenshots of the screens go to .tmp/screens/ for a look.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { type OwnServer, startOwnServer } from "./own-server.ts";

const user = { name: "Jo Admin", email: "jo@example.com", password: "jobs long passphrase" };
const shots = join(".tmp", "screens");

let server: OwnServer;
let base: string;
let files: string;

test.beforeAll(async () => {
  server = await startOwnServer("configs");
  base = server.base;
  files = mkdtempSync(join(tmpdir(), "backapp-e2e-configs-files-"));
  mkdirSync(join(files, "docs"), { recursive: true });
  writeFileSync(join(files, "docs", "a.txt"), "alpha ".repeat(1000));
  writeFileSync(join(files, "docs", "b.txt"), "beta ".repeat(1000));
  writeFileSync(join(files, "docs", "skip.tmp"), "temporary");
});

test.afterAll(async () => {
  await server?.stop();
  if (files) rmSync(files, { recursive: true, force: true });
});

test("create, list, switch, validate and run a backup job in the browser", async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto(`${base}/`);
  await page.getByLabel("Setup token").fill(server.setupToken());
  await page.getByLabel("Name").fill(user.name);
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Create administrator" }).click();
  await expect(page.locator(".account-name")).toHaveText(user.name);

  // A folder destination through the API, with the page's session and CSRF token.
  const csrf = await page.locator('input[name="_csrf"]').first().getAttribute("value");
  const dest = await page.request.post(`${base}/api/destinations`, {
    headers: { "x-csrf-token": csrf ?? "", origin: base },
    data: {
      type: "local",
      name: "Backup disk",
      path: join(files, "repo"),
      password: "e2e repository passphrase",
    },
  });
  expect(dest.status()).toBe(201);

  await page.getByRole("link", { name: "Backup jobs" }).click();
  await expect(page.locator("h1")).toHaveText("Backup jobs");
  await page.getByRole("link", { name: "New backup job" }).click();
  await page.getByLabel("Name").fill("Documents");
  await expect(page.getByLabel("Destination")).toHaveValue(/.+/);
  const path = page.getByLabel("Folder or file (absolute path)").first();
  await path.fill("docs");
  await page.getByLabel("Name").click();
  await expect(page.locator("#e-sources-0-path")).toHaveText("Use an absolute path (starting with /).");
  await path.fill(join(files, "docs"));
  await page.getByLabel("Exclude (one pattern per line)").first().fill("*.tmp");
  await expect(page.getByLabel("Cron expression")).toBeHidden();
  await page.getByLabel("Schedule", { exact: true }).selectOption("custom");
  await page.getByLabel("Cron expression").fill("0 3 * * 1-5");
  await page.getByLabel("Time zone").fill("America/New_York");
  await page.getByLabel("Name").click();
  await expect(page.locator("#e-schedule-cronExpression")).toHaveText("");
  await page.screenshot({ path: join(shots, "config-form.png"), fullPage: true });
  await page.getByRole("button", { name: "Create job" }).click();

  await expect(page).toHaveURL(/\/configs\?notice=config-created$/);
  const row = page.locator("table.jobs tbody tr").first();
  await expect(row).toContainText("every Monday to Friday at 03:00 (America/New_York)");
  await expect(row).toContainText(/\d{4}-\d\d-\d\d 03:00 E[SD]T/);
  await expect(row).toContainText("never");

  // The switch swaps its row only: a value set on the window survives.
  await page.evaluate(() => {
    (window as unknown as { marker: number }).marker = 42;
  });
  const toggle = page.getByRole("switch", { name: "Documents enabled" });
  await toggle.click();
  await expect(page.getByRole("switch", { name: "Documents enabled" })).toHaveAttribute(
    "aria-checked",
    "false",
  );
  await expect(row).toContainText("paused (job disabled)");
  await page.getByRole("switch", { name: "Documents enabled" }).click();
  await expect(page.getByRole("switch", { name: "Documents enabled" })).toHaveAttribute(
    "aria-checked",
    "true",
  );
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);

  await page.getByRole("link", { name: "Documents" }).click();
  await page.getByRole("button", { name: "Validate" }).click();
  await expect(page.locator("#validation")).toContainText("Ready to run.");
  await expect(page.locator("#validation")).toContainText("2 files");
  await expect(page.locator("#validation ol.next-runs li")).toHaveCount(5);
  await page.screenshot({ path: join(shots, "config-validated.png"), fullPage: true });

  await page.getByRole("link", { name: "Backup jobs" }).click();
  await page.evaluate(() => {
    (window as unknown as { marker: number }).marker = 7;
  });
  await page.getByRole("button", { name: "Run Documents now" }).click();
  const follow = page.getByRole("link", { name: "Follow it" });
  await expect(follow).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(7);
  const logId = ((await follow.getAttribute("href")) ?? "").replace("/backups/", "");
  const run = async () => (await page.request.get(`${base}/api/backups/${logId}`)).json();
  await expect.poll(async () => (await run()).status, { timeout: 30_000 }).not.toMatch(/^(queued|running)$/);
  expect(await run()).toMatchObject({ status: "completed", filesProcessed: 2 });
  await page.reload();
  await expect(page.locator("table.jobs tbody tr").first()).toContainText("completed");
  await page.screenshot({ path: join(shots, "configs-list.png"), fullPage: true });
});
