/**
 * Destinations in Chromium against a real server of its own and s3rver: add an S3 destination
 * through the form (test connection first), see the passphrase once and confirm keeping it, find
 * it in the list, delete it. Screenshots of the screens go to .tmp/screens/ for a look.
 */
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { startS3rver, type TestS3 } from "../helpers/s3rver.ts";
import { type OwnServer, startOwnServer } from "./own-server.ts";

const user = { name: "Dee Admin", email: "dee@example.com", password: "dest long passphrase" };
const SECRET_KEY = "sk-e2e-Pq7Rt2Lm9Xz4";
const shots = join(".tmp", "screens");

let s3: TestS3;
let server: OwnServer;
let base: string;

test.beforeAll(async () => {
  s3 = await startS3rver();
  server = await startOwnServer("dest");
  base = server.base;
});

test.afterAll(async () => {
  await server?.stop();
  await s3?.stop();
});

test("add an S3 destination in the browser: test connection, passphrase once, list", async ({ page }) => {
  // A long walk through several pages, each creating or opening a repository (scrypt): room on a busy machine.
  test.setTimeout(180_000);
  const token = server.setupToken();
  await page.goto(`${base}/`);
  await page.getByLabel("Setup token").fill(token);
  await page.getByLabel("Name").fill(user.name);
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Create administrator" }).click();
  await expect(page.locator(".account-name")).toHaveText(user.name);

  await page.getByRole("link", { name: "Destinations" }).click();
  await expect(page.locator("h1")).toHaveText("Destinations");
  await page.getByRole("link", { name: "Add a destination" }).first().click();
  await page.getByLabel("Name").fill("Office bucket");
  // The folder fieldset hides while S3 is chosen, and shows when Folder is.
  await expect(page.getByLabel("Folder (absolute path)")).toBeHidden();
  await page.getByLabel("Folder on this server").check();
  await expect(page.getByLabel("Folder (absolute path)")).toBeVisible();
  await expect(page.getByLabel("Bucket", { exact: true })).toBeHidden();
  await page.getByLabel("S3 bucket (AWS").check();
  await page.getByLabel("Endpoint (empty for AWS)").fill(s3.endpoint);
  await page.getByLabel("Access key id").fill(s3.accessKeyId);
  await page.getByLabel("Secret access key").fill(SECRET_KEY);
  await page.getByRole("button", { name: "List my buckets" }).click();
  await expect(page.locator("#bucket-result")).toContainText("1 bucket found");
  await page.getByLabel("Bucket", { exact: true }).fill("Not_A_Bucket");
  await page.getByLabel("Prefix (folder inside the bucket, optional)").click();
  await expect(page.locator("#e-bucket")).toContainText("lowercase letters");
  await page.getByLabel("Bucket", { exact: true }).fill(s3.bucket);
  await page.getByLabel("Prefix (folder inside the bucket, optional)").fill("office/laptop");
  await expect(page.locator("#e-bucket")).toHaveText("");
  await page.getByRole("button", { name: "Test connection" }).click();
  await expect(page.locator("#connection-result")).toContainText("Connection works");
  await page.screenshot({ path: join(shots, "destination-form.png"), fullPage: true });

  await page.getByRole("button", { name: "Add destination" }).click();
  await expect(page.locator("h1")).toHaveText("Keep this passphrase");
  const passphrase = (await page.locator("#passphrase").textContent()) ?? "";
  expect(passphrase).toMatch(/^[A-Za-z0-9_-]{43}$/);
  await page.screenshot({ path: join(shots, "destination-passphrase.png"), fullPage: true });
  // The checkbox is required: Done does nothing until it is ticked.
  await page.getByRole("button", { name: "Done" }).click();
  await expect(page.locator("h1")).toHaveText("Keep this passphrase");
  await page.getByLabel("I have stored the passphrase somewhere safe").check();
  await page.getByRole("button", { name: "Done" }).click();

  await expect(page).toHaveURL(/\/destinations\?notice=destination-created$/);
  await expect(page.locator("table.destinations")).toContainText("Office bucket");
  await expect(page.locator("table.destinations")).toContainText(`s3://${s3.bucket}/office/laptop`);
  await page.screenshot({ path: join(shots, "destinations-list.png"), fullPage: true });
  const html = await page.content();
  expect(html).not.toContain(passphrase);
  expect(html).not.toContain(SECRET_KEY);

  // The edit form shows the settings but no secret.
  await page.getByRole("link", { name: "Edit Office bucket" }).click();
  await expect(page.getByLabel("Bucket", { exact: true })).toHaveValue(s3.bucket);
  await expect(page.getByLabel("Secret access key")).toHaveValue("");
  await expect(page.getByLabel("Passphrase")).toHaveValue("");

  // Deleting forgets the destination only, after a confirmation page that says so.
  await page.getByRole("link", { name: "Cancel" }).click();
  await page.getByRole("link", { name: "Delete Office bucket" }).click();
  await expect(page.locator("main")).toContainText("nothing in the bucket is touched");
  await page.screenshot({ path: join(shots, "destination-delete.png"), fullPage: true });
  await page.getByRole("button", { name: "Delete destination" }).click();
  await expect(page).toHaveURL(/\/destinations\?notice=destination-deleted$/);
  await expect(page.locator("main")).toContainText("No destinations yet");
});
