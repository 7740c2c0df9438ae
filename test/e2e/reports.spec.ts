/**
 * /reports in Chromium on a server of its own: a job with a real backup, a restore drill started
 * from its row's Drill button (the run page shows the drill's result), then /reports lists the
 * job with its last drill, offers CSV and PDF, shows storage and saves prices; axe WCAG 2.1 AA
 * on the run page and /reports.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AxeBuilder } from "@axe-core/playwright";
import { expect, type Page, test } from "@playwright/test";
import { type OwnServer, startOwnServer } from "./own-server.ts";

const admin = { name: "Rhea Reports", email: "rhea@example.com", password: "reports long passphrase" };
let server: OwnServer;
let work: string;

test.beforeAll(async () => {
  server = await startOwnServer("reports");
  work = mkdtempSync(join(tmpdir(), "backapp-e2e-reports-src-"));
  mkdirSync(join(work, "src", "docs"), { recursive: true });
  writeFileSync(join(work, "src", "docs", "a.txt"), "alpha ".repeat(2000));
  writeFileSync(join(work, "src", "b.txt"), "beta");
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

async function waitEnded(page: Page, csrf: string, logId: string) {
  await expect
    .poll(
      async () => {
        const r = await page.request.get(`${server.base}/api/backups/${logId}`, {
          headers: { "x-csrf-token": csrf },
        });
        return ((await r.json()) as { status: string }).status;
      },
      { timeout: 120_000 },
    )
    .toMatch(/completed|failed|partial|cancelled/);
}

test("drill from the jobs list, then /reports with storage and prices", async ({ page }) => {
  test.setTimeout(240_000);
  await page.goto(`${server.base}/setup`);
  await page.getByLabel("Setup token").fill(server.setupToken());
  await page.getByLabel("Name").fill(admin.name);
  await page.getByLabel("Email").fill(admin.email);
  await page.getByLabel("Password").fill(admin.password);
  await page.getByRole("button", { name: "Create administrator" }).click();
  await expect(page.locator(".account-name")).toHaveText(admin.name);

  await page.goto(`${server.base}/configs`);
  const csrf = (await page.locator('input[name="_csrf"]').first().getAttribute("value")) ?? "";
  const headers = { "x-csrf-token": csrf, origin: server.base };
  const dest = await page.request.post(`${server.base}/api/destinations`, {
    headers,
    data: { type: "local", name: "Disk", path: join(work, "repo"), password: "a long repository passphrase" },
  });
  expect(dest.status()).toBe(201);
  const destinationId = ((await dest.json()) as { id: string }).id;
  const job = await page.request.post(`${server.base}/api/configs`, {
    headers,
    data: {
      name: "Фото & docs",
      sources: [{ path: join(work, "src") }],
      destinationId,
      schedule: { cronExpression: "", timezone: "UTC" },
    },
  });
  expect(job.status()).toBe(201);
  const jobId = ((await job.json()) as { id: string }).id;
  const run = await page.request.post(`${server.base}/api/backups/execute/${jobId}`, { headers });
  await waitEnded(page, csrf, ((await run.json()) as { logId: string }).logId);

  await page.goto(`${server.base}/configs`);
  await page.getByRole("button", { name: "Restore drill of Фото & docs now" }).click();
  await expect(page).toHaveURL(/\/backups\//);
  await expect(page.getByRole("heading", { name: "Restore drill: passed" })).toBeVisible({
    timeout: 120_000,
  });
  expect(await axeViolations(page)).toEqual([]);

  await page.getByRole("link", { name: "Reports", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Reports");
  const row = page.getByRole("row", { name: /Фото & docs/ });
  await expect(row).toContainText("passed");
  await expect(page.getByRole("link", { name: "PDF" })).toHaveAttribute("href", /format=pdf/);
  await expect(page.getByRole("row", { name: /Disk/ })).toContainText("LOCAL");
  expect(await axeViolations(page)).toEqual([]);

  await page.getByText("Prices for Disk").click();
  await page.getByLabel("Per GB-month").fill("0.02");
  await page.getByRole("button", { name: "Save prices" }).click();
  await expect(page.locator(".flash-success")).toContainText("Prices saved");
  await expect(page.getByText("Prices for Disk (your prices)")).toBeVisible();
  expect(await axeViolations(page)).toEqual([]);
  await page.screenshot({ path: ".tmp/screenshots/reports.png", fullPage: true });
});
