/**
 * Backup runs in Chromium against a real server of its own: a run's page follows the run by itself
 * (htmx polling swaps only the status region) until it completes, a slow run is cancelled from its
 * page, and the runs list and a run page pass axe at WCAG 2.1 AA.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AxeBuilder } from "@axe-core/playwright";
import { expect, type Page, test } from "@playwright/test";
import { type OwnServer, startOwnServer } from "./own-server.ts";

const user = { name: "Runa Admin", email: "runa@example.com", password: "runs long passphrase" };

let server: OwnServer;
let base: string;
let files: string;

test.beforeAll(async () => {
  server = await startOwnServer("backups");
  base = server.base;
  files = mkdtempSync(join(tmpdir(), "backapp-e2e-backups-files-"));
  mkdirSync(join(files, "small"), { recursive: true });
  writeFileSync(join(files, "small", "a.txt"), "alpha");
  mkdirSync(join(files, "big"), { recursive: true });
  writeFileSync(join(files, "big", "r.bin"), randomBytes(3 * 1024 * 1024));
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

test("a run page follows its run to the end, and a slow run is cancelled from its page", async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto(`${base}/`);
  await page.getByLabel("Setup token").fill(server.setupToken());
  await page.getByLabel("Name").fill(user.name);
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Create administrator" }).click();
  await expect(page.locator(".account-name")).toHaveText(user.name);
  const csrf = (await page.locator('input[name="_csrf"]').first().getAttribute("value")) ?? "";
  const post = async (path: string, data?: unknown) => {
    const r = await page.request.post(`${base}${path}`, {
      headers: { "x-csrf-token": csrf, origin: base },
      data,
    });
    return { status: r.status(), json: (await r.json()) as Record<string, string> };
  };
  const dest = await post("/api/destinations", {
    type: "local",
    name: "Disk",
    path: join(files, "repo"),
    password: "e2e runs passphrase",
  });
  expect(dest.status).toBe(201);
  const job = async (name: string, path: string, bandwidth: number | null) =>
    (
      await post("/api/configs", {
        name,
        sources: [{ path }],
        destinationId: dest.json.id,
        schedule: { cronExpression: "", timezone: "UTC" },
        options: { bandwidth },
      })
    ).json.id;

  // A slow run (32 KiB/s): its page polls, and Cancel stops it.
  const slow = await job("Slow", join(files, "big"), 32);
  const slowRun = (await post(`/api/backups/execute/${slow}`)).json.logId;
  await page.goto(`${base}/backups/${slowRun}`);
  await expect(page.locator("#run-status .run-status")).toHaveText("running", { timeout: 30_000 });
  expect(await axeViolations(page)).toEqual([]);
  await page.getByRole("button", { name: "Cancel run" }).click();
  await expect(page.locator("#run-status .run-status")).toHaveText("cancelled", { timeout: 60_000 });
  await expect(page.locator("#run-status")).toContainText(`cancelled by ${user.email}`);
  await expect(page.getByRole("button", { name: "Cancel run" })).toHaveCount(0);

  // A quick run followed without reloading: the marker set on the window survives the swaps.
  const quick = await job("Quick", join(files, "small"), null);
  const quickRun = (await post(`/api/backups/execute/${quick}`)).json.logId;
  await page.goto(`${base}/backups/${quickRun}`);
  await page.evaluate(() => {
    (window as unknown as { marker: number }).marker = 9;
  });
  await expect(page.locator("#run-status .run-status")).toHaveText("completed", { timeout: 60_000 });
  await expect(page.locator("#run-status code")).toHaveText(/^[0-9a-f]{64}$/);
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(9);

  await page.getByRole("link", { name: "Runs", exact: true }).click();
  await expect(page.locator("table.runs tbody tr")).toHaveCount(2);
  await expect(page.locator("table.runs tbody tr").first()).toContainText("Quick");
  expect(await axeViolations(page)).toEqual([]);
});
