/**
 * Hostile names rendered by the real server: a job, destination, channel and token named with a
 * payload, file names with one inside a snapshot, a failed run's error message and alert naming
 * such a file, and a snapshot made by the CLI with a hostile --host and --tag. Every page that
 * shows them carries them escaped and never raw. (The real-browser check that nothing executes is
 * test/e2e/hostile-xss.spec.ts.)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBackapp } from "../../helpers/cli.ts";
import { type Hostile, startHostile, XSS, XSS_FILE } from "./fixture.ts";

let h: Hostile;
beforeAll(async () => {
  h = await startHostile();
  const extra = join(h.work, "cli-src");
  mkdirSync(extra);
  writeFileSync(join(extra, "f.txt"), "from the CLI");
  const r = await runBackapp(
    ["backup", "--host", `host${XSS}`, "--tag", `tag${XSS.replaceAll(",", "")}`, extra],
    {
      env: { BACKAPP_REPO: join(h.work, "repo"), BACKAPP_PASSWORD: "a long repository passphrase for tests" },
    },
  );
  expect(r.code, r.stderr).toBe(0);
}, 180_000);
afterAll(async () => {
  await h?.stop();
});

/** The payloads as live markup: an element, or a quote that closes an attribute. (Escaped text such
 * as "&lt;img src=x onerror=…" is harmless and expected.) */
const RAW = ["<script>window.__pwned", "<img src=x", `"'>`];

function expectEscaped(html: string, where: string) {
  for (const raw of RAW) expect(html, `${where} contains ${raw}`).not.toContain(raw);
}

describe("hostile names in pages", () => {
  it("appear escaped on every page that shows them, and never raw", async () => {
    const { destinationId, jobId, failingJobId, logId, snapshotId } = h.ids;
    const d = `destinationId=${destinationId}`;
    const pages: [string, string[]][] = [
      ["/", []],
      ["/dashboard", []],
      ["/configs", ["job &lt;script&gt;window.__pwned=1&lt;/script&gt;"]],
      [`/configs/${jobId}/edit`, ["&lt;script&gt;window.__pwned=1"]],
      ["/destinations", ["disk &lt;script&gt;window.__pwned=1"]],
      [`/destinations/${destinationId}/edit`, ["&lt;script&gt;"]],
      ["/backups", ["failing &lt;script&gt;"]],
      [`/backups/${logId}`, ["job &lt;script&gt;"]],
      [`/snapshots?${d}`, ["host&lt;script&gt;", "tag&lt;script&gt;"]],
      [`/snapshots/${snapshotId}?${d}`, []],
      [
        `/snapshots/${snapshotId}/dir?${d}&path=${encodeURIComponent(h.src)}`,
        ["&lt;img src=x onerror=window.__pwned=3&gt;"],
      ],
      [`/snapshots/${snapshotId}/search?${d}&q=img`, ["&lt;img src=x onerror=window.__pwned=3&gt;"]],
      ["/alerts", ["failing &lt;script&gt;"]],
      ["/settings/notifications", ["mail &lt;script&gt;"]],
      ["/settings/profile", ["token &lt;script&gt;"]],
      ["/reports", []],
    ];
    for (const [path, escaped] of pages) {
      const r = await h.admin.get(path);
      expect([path, r.status]).toEqual([path, 200]);
      expectEscaped(r.text, path);
      for (const e of escaped) expect(r.text, `${path} shows ${e}`).toContain(e);
    }
    // The failed run's error names the missing folder (with its hostile name), escaped.
    const runs = (await h.admin.api("GET", `/api/backups/logs?configId=${failingJobId}`)).json<{
      items: { id: string }[];
    }>();
    const failed = await h.admin.get(`/backups/${runs.items[0]?.id}`);
    expect(failed.status).toBe(200);
    expectEscaped(failed.text, "failed run");
    expect(failed.text).toContain(XSS_FILE.replace("<img", "&lt;img").slice(0, 20));
  });

  it("JSON answers carry the names as data, served as JSON (never HTML) with nosniff", async () => {
    const r = await h.admin.get(`/api/configs/${h.ids.jobId}`);
    expect(r.headers.get("content-type")).toContain("application/json");
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.json<{ name: string }>().name).toBe(`job ${XSS}`);
  });
});
