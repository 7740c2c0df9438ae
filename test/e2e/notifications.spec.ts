/**
 * /settings/notifications in Chromium, on a server of its own with SMTP: add an email channel and
 * a webhook, send tests (htmx swaps the result in; the webhook is refused until an admin allows
 * private targets), read the delivery log, and pass axe at WCAG 2.1 AA. Leaves a screenshot in
 * .tmp/screenshots/notifications.png.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { AxeBuilder } from "@axe-core/playwright";
import { expect, type Page, test } from "@playwright/test";
import { startSmtp } from "../helpers/smtp.ts";
import { type OwnServer, startOwnServer } from "./own-server.ts";

const admin = { name: "Nora Notify", email: "nora@example.com", password: "notify long passphrase" };

let smtp: Awaited<ReturnType<typeof startSmtp>>;
let receiver: Server;
let receiverUrl: string;
/** Bodies of the requests the webhook receiver got (Playwright runs on Node: node:http, not Bun.serve). */
const received: string[] = [];
let server: OwnServer;

test.beforeAll(async () => {
  smtp = await startSmtp();
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8");
    });
    req.on("end", () => {
      received.push(body);
      res.end("ok");
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  server = await startOwnServer("notify", {
    SMTP_HOST: "127.0.0.1",
    SMTP_PORT: String(smtp.port),
    SMTP_SECURE: "none",
    SMTP_FROM: "backapp@example.com",
  });
});

test.afterAll(async () => {
  await server?.stop();
  await smtp?.close();
  receiver?.close();
});

async function axeViolations(page: Page) {
  const result = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

test("add channels, send tests, read the delivery log", async ({ page }) => {
  // Many steps and three axe runs on a shared, busy machine: more than the default minute.
  test.setTimeout(240_000);
  await page.goto(`${server.base}/setup`);
  await page.getByLabel("Setup token").fill(server.setupToken());
  await page.getByLabel("Name").fill(admin.name);
  await page.getByLabel("Email").fill(admin.email);
  await page.getByLabel("Password").fill(admin.password);
  await page.getByRole("button", { name: "Create administrator" }).click();
  await expect(page.locator(".account-name")).toHaveText(admin.name);

  await page.getByRole("link", { name: "Notifications" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Notifications");
  expect(await axeViolations(page)).toEqual([]);

  // An email channel: the default events are every alert kind.
  await page.getByLabel("Name", { exact: true }).fill("My inbox");
  await page.getByLabel("Email address or webhook URL").fill("nora-alerts@example.com");
  await page.getByRole("button", { name: "Add channel" }).click();
  await expect(page.locator(".flash-success")).toContainText("Notification channel saved");
  await page.getByRole("button", { name: "Send test to My inbox" }).click();
  await expect(page.getByRole("status").filter({ hasText: "A test notification was sent" })).toBeVisible();
  const [mail] = await smtp.waitFor(1);
  expect(mail?.to).toEqual(["nora-alerts@example.com"]);

  // A Discord-format webhook on loopback: refused until private targets are allowed.
  await page.getByLabel("Webhook (generic JSON").check();
  await page.getByLabel("Name", { exact: true }).fill("Team chat");
  await page.getByLabel("Email address or webhook URL").fill(`${receiverUrl}/api/webhooks/1/token`);
  await page.getByLabel("Webhook format").selectOption("discord");
  await page.getByLabel("Every successful backup").check();
  await page.getByRole("button", { name: "Add channel" }).click();
  await expect(page.locator("#new-secret")).toContainText("whsec_");
  await page.getByRole("button", { name: "Send test to Team chat" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "loopback" })).toBeVisible();
  expect(received).toHaveLength(0);

  await page.goto(`${server.base}/admin/settings`);
  await page.getByLabel("Allow webhooks and health-check pings to private addresses").check();
  await page.getByRole("button", { name: "Save notification settings" }).click();
  await expect(page.locator(".flash-success")).toContainText("Notification settings saved");
  expect(await axeViolations(page)).toEqual([]);

  await page.goto(`${server.base}/settings/notifications`);
  await page.getByRole("button", { name: "Send test to Team chat" }).click();
  await expect(page.getByRole("status").filter({ hasText: "sent to “Team chat”" })).toBeVisible();
  expect(JSON.parse(received[0] ?? "{}").embeds[0].title).toBe("backapp test notification");

  await page.reload();
  const log = page.getByRole("table", { name: "Recent delivery attempts" });
  await expect(log.getByRole("row")).toHaveCount(4);
  await expect(log).toContainText("127.0.0.1 is a loopback");
  expect(await axeViolations(page)).toEqual([]);
  await page.screenshot({ path: ".tmp/screenshots/notifications.png", fullPage: true });
});
