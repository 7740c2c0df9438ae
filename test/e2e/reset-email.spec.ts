/**
 * Forgot password by email in Chromium: a second real server (started here, with SMTP settings)
 * mails the reset link to a real SMTP server (npm smtp-server); the link works once and ends
 * every session of the account.
 */
import { expect, type Page, test } from "@playwright/test";
import { startSmtp } from "../helpers/smtp.ts";
import { type OwnServer, startOwnServer } from "./own-server.ts";

const user = { name: "Mel Mail", email: "mel@example.com", password: "mail long passphrase" };
const newPassword = "mail brand new passphrase";
async function signIn(page: Page, password: string) {
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

let smtp: Awaited<ReturnType<typeof startSmtp>>;
let server: OwnServer;
let base: string;

test.beforeAll(async () => {
  smtp = await startSmtp();
  server = await startOwnServer("backapp-e2e-mail-", {
    SMTP_HOST: "127.0.0.1",
    SMTP_PORT: String(smtp.port),
    SMTP_SECURE: "none",
    SMTP_FROM: "backapp@example.com",
  });
  base = server.base;
});

test.afterAll(async () => {
  await server?.stop();
  await smtp?.close();
});

test("forgot password: the emailed link works once and ends every session", async ({ page, browser }) => {
  const token = server.setupToken();
  await page.goto(`${base}/`);
  await expect(page).toHaveURL(/\/setup$/);
  await page.getByLabel("Setup token").fill(token);
  await page.getByLabel("Name").fill(user.name);
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Create administrator" }).click();
  await expect(page.locator(".account-name")).toHaveText(user.name);

  // A second browser stays signed in; the reset must end its session too.
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await otherPage.goto(`${base}/login`);
  await signIn(otherPage, user.password);
  await expect(otherPage.locator(".account-name")).toHaveText(user.name);

  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await expect(page.getByText("sends no email")).toHaveCount(0);
  await page.getByLabel("Email").fill("nobody@example.com");
  await page.getByRole("button", { name: "Send reset link" }).click();
  const unknownAnswer = await page.locator(".auth-card").textContent();
  await page.goto(`${base}/forgot-password`);
  await page.getByLabel("Email").fill(user.email);
  await page.getByRole("button", { name: "Send reset link" }).click();
  // The same answer whether or not the account exists.
  expect(await page.locator(".auth-card").textContent()).toBe(unknownAnswer);

  const [mail] = await smtp.waitFor(1);
  expect(mail?.to).toEqual([user.email]);
  const link = /http:\/\/\S+\/reset-password\?token=\S+/.exec(mail?.text ?? "")?.[0] ?? "";
  expect(link.startsWith(`${base}/reset-password?token=`)).toBe(true);
  expect(smtp.messages).toHaveLength(1);

  await page.goto(link);
  await page.getByLabel("New password").fill(newPassword);
  await page.getByRole("button", { name: "Set password" }).click();
  await expect(page).toHaveURL(/\/login\?notice=password-reset$/);

  await page.goto(link);
  await expect(page.locator(".form-error")).toContainText("invalid, used or expired");
  await otherPage.goto(`${base}/settings/profile`);
  await expect(otherPage).toHaveURL(/\/login\?next=/);
  await other.close();

  await page.goto(`${base}/login`);
  await signIn(page, user.password);
  await expect(page.locator(".form-error")).toContainText("Email or password is incorrect.");
  await signIn(page, newPassword);
  await expect(page.locator(".account-name")).toHaveText(user.name);
});
