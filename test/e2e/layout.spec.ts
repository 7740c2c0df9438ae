import { expect, test } from "@playwright/test";

test("the layout loads its stylesheet and htmx without CSP violations", async ({ page }) => {
  const violations: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") violations.push(msg.text());
  });
  const res = await page.goto("/");
  expect(res?.status()).toBe(200);
  await expect(page.locator("header.topbar .brand")).toContainText("backapp");
  await expect(page.locator("footer")).toContainText("backapp");
  // htmx ran: it defines window.htmx.
  await expect
    .poll(() => page.evaluate(() => typeof (window as unknown as { htmx?: unknown }).htmx))
    .toBe("object");
  // The stylesheet applied (the top bar is a flex row).
  const display = await page.locator("header.topbar").evaluate((el) => getComputedStyle(el).display);
  expect(display).toBe("flex");
  expect(violations.filter((v) => /Content Security Policy/i.test(v))).toEqual([]);
});

test("an unknown page renders the 404 page in the layout", async ({ page }) => {
  const res = await page.goto("/no-such-page");
  expect(res?.status()).toBe(404);
  await expect(page.locator("h1")).toContainText("404");
});
