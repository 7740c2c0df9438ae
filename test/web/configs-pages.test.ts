/**
 * The /configs pages through the real app: the list (schedule in words, next run in the job's
 * zone, last run and its age), the form (create, field errors tied to inputs, inline checks),
 * htmx row swaps for enable/disable and Run now, delete, and 404 for other users' jobs.
 * The app's real job service schedules the jobs (its next run shows the pages rescheduled them)
 * and starts the runs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findConfigRecord, listConfigRecords } from "../../src/db/backup-configs.ts";
import { findLog, insertLog } from "../../src/db/backup-logs.ts";
import type { ConfigJson } from "../../src/jobs/configs.ts";
import { newId } from "../../src/util/ids.ts";
import { createWorld, jobBody, type World } from "./configs-fixture.ts";

let w: World;
beforeAll(async () => {
  w = await createWorld();
});
afterAll(() => w.close());

const HTMX = { "hx-request": "true" };

function form(extra: Record<string, string> = {}) {
  return {
    name: "Photos",
    enabled: "on",
    destinationId: w.aliceDest,
    "sources.0.path": w.root,
    "sources.0.excludePatterns": "*.tmp\r\ncache/",
    "sources.0.includePatterns": "",
    "sources.1.path": "",
    "schedule.preset": "custom",
    "schedule.cronExpression": "0 2 * * *",
    "schedule.timezone": "Europe/Paris",
    "options.type": "incremental",
    "options.compression": "on",
    "options.compressionLevel": "3",
    "options.retention.keepDaily": "7",
    ...extra,
  };
}

describe("job pages", () => {
  let id: string;

  it("create a job from the form and tell the scheduler", async () => {
    const r = await w.alice.form("/configs", form());
    expect(r.status).toBe(303);
    expect(r.headers.get("location")).toBe("/configs?notice=config-created");
    const [job] = listConfigRecords(w.t.db, { userId: w.alice.userId });
    id = job!.id;
    expect(job).toMatchObject({
      name: "Photos",
      sources: [{ path: w.root, excludePatterns: ["*.tmp", "cache/"], includePatterns: [] }],
      schedule: { cronExpression: "0 2 * * *", timezone: "Europe/Paris" },
      options: { retention: { keepDaily: 7 }, retentionDays: null, bandwidth: null },
    });
    expect(w.t.services.jobs.nextRun(id)).toBeInstanceOf(Date);
  });

  it("list the job with its schedule in words, next run in its zone and last run", async () => {
    insertLog(w.t.db, {
      id: "run-1",
      configId: id,
      userId: w.alice.userId,
      status: "completed",
      startTime: w.t.clock.now() - 3 * 3600_000,
    });
    const page = await w.alice.get("/configs");
    expect(page.status).toBe(200);
    expect(page.text).toContain("every day at 02:00 (Europe/Paris)");
    // The clock reads 2026-01-01 00:00 UTC = 01:00 in Paris: the next run is 02:00 the same day.
    expect(page.text).toContain("2026-01-01 02:00 CET");
    expect(page.text).toMatch(
      /href="\/backups\/run-1"><span class="badge status-completed">completed<\/span><\/a>\s*<time[^>]*>3 h ago</,
    );
    expect(page.text).toContain('aria-label="Run Photos now"');
    expect((await w.bob.get("/configs")).text).not.toContain("Photos");
  });

  it("show field errors beside their inputs, tied with aria-describedby", async () => {
    const r = await w.alice.form("/configs", form({ "sources.0.path": "/etc" }));
    expect(r.status).toBe(403);
    expect(r.text).toContain('aria-describedby="e-sources-0-path"');
    expect(r.text).toMatch(
      /<small id="e-sources-0-path" class="field-error"[^>]*>\/etc is outside the folders/,
    );
    const bad = await w.alice.form("/configs", form({ "schedule.cronExpression": "61 * * * *" }));
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(
      /id="f-schedule-cronExpression"[^>]*aria-invalid="true"[^>]*aria-describedby="h-schedule-cronExpression e-schedule-cronExpression"/,
    );
    expect(bad.text).toContain("Invalid value for minute: 61");
    expect(bad.text).toContain('value="61 * * * *"');
  });

  it("check one field inline (htmx), with source rows numbered as the form numbers them", async () => {
    const check = (field: string, extra: Record<string, string>) =>
      w.alice.form(`/configs/check?field=${field}`, form(extra), HTMX);
    const cron = await check("schedule.cronExpression", { "schedule.cronExpression": "* * *" });
    expect(cron.text).toMatch(
      /^<small id="e-schedule-cronExpression" class="field-error" aria-live="polite">A cron expression has 5 fields/,
    );
    const zone = await check("schedule.timezone", { "schedule.timezone": "Paris" });
    expect(zone.text).toContain("Choose a known time zone");
    const fine = await check("schedule.timezone", {});
    expect(fine.text).toBe(
      '<small id="e-schedule-timezone" class="field-error" aria-live="polite"></small>\n',
    );
    // Row 0 blank, row 2 relative: the error is reported for form row 2.
    const row = await check("sources.2.path", { "sources.0.path": "", "sources.2.path": "rel" });
    expect(row.text).toContain('id="e-sources-2-path"');
    expect(row.text).toContain("Use an absolute path");
    const outside = await check("sources.0.path", { "sources.0.path": "/etc" });
    expect(outside.text).toContain("outside the folders");
    const dest = await check("destinationId", { destinationId: w.bobDest });
    expect(dest.text).toContain("Unknown destination");
  });

  it("add a source row numbered after the rows the form has", async () => {
    const r = await w.alice.get(
      `/configs/source-row?sources.0.path=${encodeURIComponent(w.root)}&sources.3.path=&job=${id}`,
    );
    expect(r.status).toBe(200);
    expect(r.text).toMatch(/^<fieldset class="source" id="source-4">\s*<legend>Source 5<\/legend>/);
    expect(r.text).toContain('name="sources.4.path"');
    expect(r.text).toContain(`hx-post="/configs/check?field=sources.4.path&amp;job=${id}"`);
  });

  it("toggle enabled with an htmx row swap, and without JavaScript by redirect", async () => {
    const off = await w.alice.form(`/configs/${id}/enabled`, { enabled: "0" }, HTMX);
    expect(off.status).toBe(200);
    expect(off.text).toMatch(/^<tr id="job-/);
    expect(off.text).toContain('aria-checked="false"');
    expect(off.text).toContain("paused (job disabled)");
    expect(findConfigRecord(w.t.db, id)?.enabled).toBe(false);
    expect(w.t.services.jobs.nextRun(id)).toBeNull();
    const on = await w.alice.form(`/configs/${id}/enabled`, { enabled: "1" });
    expect(on.status).toBe(303);
    expect(findConfigRecord(w.t.db, id)?.enabled).toBe(true);
    expect(w.t.services.jobs.nextRun(id)).toBeInstanceOf(Date);
    expect((await w.bob.form(`/configs/${id}/enabled`, { enabled: "0" })).status).toBe(404);
  });

  it("run now: to the run's page without JavaScript, a row swap with a link under htmx", async () => {
    const plain = await w.alice.form(`/configs/${id}/run`, {});
    expect(plain.status).toBe(303);
    const logId = plain.headers.get("location")!.replace("/backups/", "");
    expect(findLog(w.t.db, logId)).toMatchObject({ configId: id, trigger: "manual" });
    // A job never overlaps itself: while that run is active, Run now answers the same run.
    const swapped = await w.alice.form(`/configs/${id}/run`, {}, HTMX);
    expect(swapped.text).toMatch(/^<tr id="job-/);
    expect(swapped.text).toMatch(/Run started\. <a href="\/backups\/[a-z0-9]+">Follow it<\/a>/);
    expect(swapped.text).toContain(`href="/backups/${logId}"`);
    expect((await w.bob.form(`/configs/${id}/run`, {})).status).toBe(404);
    const audit = (await w.admin.get("/api/audit?limit=100")).json<{
      entries: { action: string; target: string }[];
    }>();
    expect(audit.entries.filter((e) => e.action === "backup.run").map((e) => e.target)).toContain(
      `config:${id}`,
    );
  });

  it("edit shows the saved values, hides hooks from non-admins, and 404s for others", async () => {
    const edit = await w.alice.get(`/configs/${id}/edit`);
    expect(edit.status).toBe(200);
    expect(edit.text).toContain(`value="${w.root}"`);
    expect(edit.text).toContain("*.tmp\ncache/</textarea>");
    expect(edit.text).not.toContain("hooks.pre.command");
    expect((await w.admin.get(`/configs/${id}/edit`)).text).toContain('name="hooks.pre.command"');
    expect((await w.bob.get(`/configs/${id}/edit`)).status).toBe(404);
    const saved = await w.alice.form(
      `/configs/${id}`,
      form({ name: "Pictures", "schedule.preset": "weekly" }),
    );
    expect(saved.status).toBe(303);
    expect(findConfigRecord(w.t.db, id)).toMatchObject({
      name: "Pictures",
      schedule: { cronExpression: "0 2 * * 0" },
    });
  });

  it("validate from the form answers a report fragment under htmx", async () => {
    const r = await w.alice.form(`/configs/${id}/validate`, {}, HTMX);
    expect(r.status).toBe(200);
    expect(r.text).toContain("Ready to run.");
    expect(r.text).toContain("every Sunday at 02:00 (Europe/Paris)");
    expect(r.text).toContain("2026-01-04 02:00 CET");
    const page = await w.alice.form(`/configs/${id}/validate`, {});
    expect(page.status).toBe(200);
    expect(page.text).toContain("<h1>Validate “Pictures”</h1>");
    expect(page.text).toContain("Ready to run.");
  });

  it("delete a job (not another user's)", async () => {
    const other = (
      await w.alice.api("POST", "/api/configs", jobBody(w, { name: "Other" }))
    ).json<ConfigJson>();
    expect((await w.bob.form(`/configs/${other.id}/delete`, {})).status).toBe(404);
    const r = await w.alice.form(`/configs/${other.id}/delete`, {});
    expect(r.status).toBe(303);
    expect(r.headers.get("location")).toBe("/configs?notice=config-deleted");
    expect(findConfigRecord(w.t.db, other.id)).toBeUndefined();
    expect(w.t.services.jobs.nextRun(other.id)).toBeNull();
  });

  it("refuses to delete a job while one of its runs is queued", async () => {
    insertLog(w.t.db, {
      id: newId(),
      configId: id,
      userId: w.alice.userId,
      status: "queued",
      startTime: w.t.clock.now(),
    });
    const r = await w.alice.form(`/configs/${id}/delete`, {});
    expect(r.status).toBe(400);
    expect(r.text).toContain("queued or running");
    expect(findConfigRecord(w.t.db, id)).toBeDefined();
  });
});
