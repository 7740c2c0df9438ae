/**
 * The dashboard and alerts in Chromium, on a server of its own with a local folder destination:
 * one job that succeeds, one that fails (a real alert), a month of earlier runs written into the
 * database so the charts have something to draw; read the dashboard (health in words, totals,
 * charts with text alternatives, storage usage loaded after the page), acknowledge the alert, and pass axe at WCAG 2.1 AA on both
 * pages. Screenshots go to .tmp/screens/dashboard.png and alerts.png.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AxeBuilder } from "@axe-core/playwright";
import { expect, type Page, test } from "@playwright/test";
import { BUN, type OwnServer, startOwnServer } from "./own-server.ts";

const user = { name: "Dana Dash", email: "dana@example.com", password: "dashboard long passphrase" };
const shots = join(".tmp", "screens");

let server: OwnServer;
let base: string;
let files: string;

test.beforeAll(async () => {
  server = await startOwnServer("dashboard");
  base = server.base;
  files = mkdtempSync(join(tmpdir(), "backapp-e2e-dash-files-"));
  mkdirSync(join(files, "docs"), { recursive: true });
  writeFileSync(join(files, "docs", "a.txt"), "alpha ".repeat(5000));
});

test.afterAll(async () => {
  await server?.stop();
  if (files) rmSync(files, { recursive: true, force: true });
});

async function axeViolations(page: Page) {
  const result = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

/** 30 days of earlier runs of a job, written straight into the server's database (WAL: safe while it runs). */
function seedHistory(dataDir: string, configId: string, userId: string, failEvery: number) {
  const script = `
    import { Database } from "bun:sqlite";
    const db = new Database(process.argv[1] + "/backapp.db");
    const [configId, userId, failEvery] = [process.argv[2], process.argv[3], Number(process.argv[4])];
    const ins = db.prepare("INSERT INTO backup_logs (id, config_id, user_id, status, start_time, end_time, duration_ms, bytes_transferred, total_bytes, files_processed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    const day = 86400000, today = Math.floor(Date.now() / day) * day;
    for (let i = 29; i >= 1; i--) {
      const start = today - i * day + 2 * 3600000;
      const failed = i % failEvery === 0;
      const duration = 40000 + ((i * 7919) % 50) * 1000;
      const bytes = failed ? 0 : 2000000 + ((i * 104729) % 30) * 500000;
      ins.run(configId + "h" + i, configId, userId, failed ? "failed" : "completed", start, start + duration, duration, bytes, bytes * 20, 1200 + i);
    }`;
  execFileSync(BUN, ["-e", script, dataDir, configId, userId, String(failEvery)]);
}

test("read the dashboard and acknowledge an alert", async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto(`${base}/`);
  await page.getByLabel("Setup token").fill(server.setupToken());
  await page.getByLabel("Name").fill(user.name);
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Create administrator" }).click();
  await expect(page.locator(".account-name")).toHaveText(user.name);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Dashboard");

  const csrf = (await page.locator('input[name="_csrf"]').first().getAttribute("value")) ?? "";
  const api = async (method: string, path: string, data?: unknown) => {
    const r = await page.request.fetch(`${base}${path}`, {
      method,
      headers: { "x-csrf-token": csrf, origin: base },
      ...(data === undefined ? {} : { data }),
    });
    return (await r.json()) as Record<string, unknown>;
  };
  const dest = await api("POST", "/api/destinations", {
    type: "local",
    name: "Disk",
    path: join(files, "repo"),
    password: "e2e dashboard passphrase",
  });
  const job = async (name: string, path: string) =>
    (
      await api("POST", "/api/configs", {
        name,
        sources: [{ path }],
        destinationId: dest.id,
        schedule: { cronExpression: "0 2 * * *", timezone: "UTC" },
      })
    ).id as string;
  const docs = await job("Documents", join(files, "docs"));
  mkdirSync(join(files, "photos"));
  const photos = await job("Photos", join(files, "photos"));
  rmSync(join(files, "photos"), { recursive: true });
  const me = ((await api("GET", "/api/auth/session")).user as { id: string }).id;
  seedHistory(server.dataDir, docs, me, 9);
  seedHistory(server.dataDir, photos, me, 4);
  for (const id of [docs, photos]) {
    const { logId } = (await api("POST", `/api/backups/execute/${id}`)) as { logId: string };
    await expect
      .poll(async () => (await api("GET", `/api/backups/${logId}`)).status, { timeout: 60_000 })
      .toMatch(/completed|failed/);
  }

  await page.goto(`${base}/dashboard`);
  const rows = page
    .getByRole("table")
    .filter({ has: page.getByRole("columnheader", { name: "Health" }) })
    .getByRole("row");
  await expect(rows.filter({ hasText: "Photos" })).toContainText("Failing");
  await expect(rows.filter({ hasText: "Documents" })).toContainText("Healthy");
  await expect(page.getByRole("definition").first()).toHaveText("60");
  await expect(page.getByRole("link", { name: /Alerts\s*1 open/ })).toBeVisible();
  await expect(page.locator("figure.chart")).toHaveCount(4);
  await expect(page.locator("figure.chart figcaption").first()).toContainText("days with runs");
  // Storage usage arrives by itself after the page (htmx, hx-trigger="load"): per destination.
  const storage = page.locator("#dash-storage");
  await expect(storage.getByRole("row").filter({ hasText: "Disk" })).toContainText(/KiB|MiB/);
  await expect(storage.getByRole("columnheader", { name: "Dedup" })).toBeVisible();
  await expect(storage.getByRole("row").filter({ hasText: "Estimated total per month" })).toContainText(
    "USD",
  );
  await expect(storage).not.toHaveAttribute("aria-busy", "true");
  await page.locator("details.chart-data summary").first().click();
  await expect(page.locator("details.chart-data table").first()).toBeVisible();
  await page.screenshot({ path: join(shots, "dashboard.png"), fullPage: true });
  expect(await axeViolations(page)).toEqual([]);

  await page
    .getByRole("link", { name: /Alerts/ })
    .first()
    .click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Alerts");
  const item = page.locator(".alert-item").filter({ hasText: "Photos" });
  await expect(item).toContainText("Failed run");
  await page.screenshot({ path: join(shots, "alerts.png"), fullPage: true });
  expect(await axeViolations(page)).toEqual([]);
  await item.getByRole("button", { name: /Acknowledge/ }).click();
  await expect(page.locator(".flash-success")).toContainText("Alert acknowledged");
  await expect(page.locator(".alert-item")).toHaveCount(0);
  await expect(page.locator(".nav-badge")).toHaveCount(0);
  await page.getByRole("link", { name: "Acknowledged" }).click();
  await expect(page.locator(".alert-item").filter({ hasText: "Photos" })).toContainText("acknowledged");
  expect(await axeViolations(page)).toEqual([]);
});
