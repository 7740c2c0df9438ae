/**
 * Backup jobs through the JSON API of the real app (real SQLite): create, read, full replace,
 * delete, defaults, field errors by path, access rules (allowed roots, admin-only hooks, own
 * destinations only) and 404 for other users' ids; every change audited.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConfigJson } from "../../src/jobs/configs.ts";
import { createWorld, jobBody, type World } from "./configs-fixture.ts";

let w: World;
beforeAll(async () => {
  w = await createWorld();
});
afterAll(() => w.close());

type Fields = { error: { status: number; message: string; fields: Record<string, string> } };

describe("jobs API", () => {
  let id: string;

  it("creates a job with defaults for omitted options, answering the issue's shape", async () => {
    const r = await w.alice.api("POST", "/api/configs", jobBody(w));
    expect(r.status).toBe(201);
    const job = r.json<ConfigJson>();
    id = job.id;
    expect(Object.keys(job).sort()).toEqual(
      [
        "createdAt",
        "destinationId",
        "enabled",
        "hooks",
        "id",
        "name",
        "options",
        "schedule",
        "sources",
        "updatedAt",
      ].sort(),
    );
    expect(job).toMatchObject({
      name: "Documents",
      enabled: true,
      sources: [{ path: w.root, includePatterns: [], excludePatterns: [] }],
      destinationId: w.aliceDest,
      schedule: { cronExpression: "0 2 * * *", timezone: "Europe/Paris" },
      options: {
        type: "incremental",
        compression: true,
        compressionLevel: 3,
        encryption: true,
        retentionDays: null,
        retention: {},
        bandwidth: null,
      },
      hooks: {},
      createdAt: "2026-01-01T00:00:00.000Z",
    });
    expect((await w.alice.get(`/api/configs/${id}`)).json()).toEqual(job);
    expect(
      (await w.alice.get("/api/configs")).json<{ items: ConfigJson[] }>().items.map((j) => j.id),
    ).toEqual([id]);
  });

  it("replaces the whole job on PUT (omitted options reset to defaults) and keeps createdAt", async () => {
    const full = jobBody(w, {
      name: "Docs",
      enabled: false,
      sources: [{ path: `${w.root}/`, excludePatterns: ["*.tmp", "cache/"], includePatterns: [] }],
      schedule: { cronExpression: "daily", timezone: "America/New_York" },
      options: {
        type: "full",
        compression: false,
        compressionLevel: 9,
        retentionDays: 30,
        retention: { keepDaily: 7 },
        bandwidth: 512,
        encryption: false,
      },
    });
    w.t.clock.advance(60_000);
    const put = await w.alice.api("PUT", `/api/configs/${id}`, full);
    expect(put.status).toBe(200);
    const job = put.json<ConfigJson>();
    expect(job.sources).toEqual([
      { path: w.root, includePatterns: [], excludePatterns: ["*.tmp", "cache/"] },
    ]);
    expect(job.schedule).toEqual({ cronExpression: "0 2 * * *", timezone: "America/New_York" });
    expect(job.options).toEqual({
      type: "full",
      compression: false,
      compressionLevel: 9,
      encryption: true, // read-only: the destination's repository encrypts
      retentionDays: 30,
      retention: { keepDaily: 7 },
      bandwidth: 512,
      healthcheckUrl: null, // monitoring (issue 9): none set
      alertAfterHours: null,
    });
    expect(job.enabled).toBe(false);
    expect(job.createdAt).toBe("2026-01-01T00:00:00.000Z");
    expect(job.updatedAt).toBe("2026-01-01T00:01:00.000Z");
    const reset = (await w.alice.api("PUT", `/api/configs/${id}`, jobBody(w))).json<ConfigJson>();
    expect(reset.options.type).toBe("incremental");
    expect(reset.options.retention).toEqual({});
    expect(reset.enabled).toBe(true);
  });

  it("answers field errors by path: bad cron, bad zone, relative path, bad glob, bad numbers", async () => {
    const r = await w.alice.api(
      "POST",
      "/api/configs",
      jobBody(w, {
        name: "",
        sources: [{ path: w.root }, { path: "relative/dir", excludePatterns: ["ok", "!neg"] }],
        schedule: { cronExpression: "61 * * * *", timezone: "Mars/Olympus" },
        options: { compressionLevel: 25, type: "differential", retention: { keepLast: -1 } },
      }),
    );
    expect(r.status).toBe(400);
    const { fields } = r.json<Fields>().error;
    expect(fields).toEqual({
      name: "Name the job.",
      "sources.1.path": "Use an absolute path (starting with /).",
      "sources.1.excludePatterns.1": "Patterns have no '!' negation or '#' comments.",
      "schedule.cronExpression": "Not a valid cron expression: Invalid value for minute: 61",
      "schedule.timezone": "Choose a known time zone, such as Europe/Paris or UTC.",
      "options.compressionLevel": "Use at most 19.",
      "options.type": "Choose full or incremental.",
      "options.retention.keepLast": "Use at least 0.",
    });
    const sixFields = await w.alice.api(
      "POST",
      "/api/configs",
      jobBody(w, { schedule: { cronExpression: "* * * *", timezone: "UTC" } }),
    );
    expect(sixFields.json<Fields>().error.fields["schedule.cronExpression"]).toMatch(
      /5 fields .* or 6 with seconds first; this one has 4/,
    );
    const none = await w.alice.api("POST", "/api/configs", { name: "x", destinationId: w.aliceDest });
    expect(none.json<Fields>().error.fields).toEqual({ sources: "Add at least one folder to back up." });
  });

  it("refuses paths outside the user's roots (403, per source) and hooks from a non-admin (403)", async () => {
    const outside = await w.alice.api(
      "POST",
      "/api/configs",
      jobBody(w, { sources: [{ path: w.root }, { path: "/etc" }] }),
    );
    expect(outside.status).toBe(403);
    expect(outside.json<Fields>().error.fields).toEqual({
      "sources.1.path": "/etc is outside the folders an administrator allowed for you.",
    });
    const dotdot = await w.alice.api(
      "POST",
      "/api/configs",
      jobBody(w, { sources: [{ path: `${w.root}/../..` }] }),
    );
    expect(dotdot.status).toBe(400);
    expect(dotdot.json<Fields>().error.fields).toEqual({
      "sources.0.path": "Use a path without '..' segments.",
    });
    const hooks = await w.alice.api(
      "POST",
      "/api/configs",
      jobBody(w, { hooks: { pre: { command: "echo hi" } } }),
    );
    expect(hooks.status).toBe(403);
    expect(hooks.json<Fields>().error.fields).toEqual({
      hooks: "Only administrators may define shell hooks.",
    });
  });

  it("answers an unknown and a foreign destination alike (never confirming the foreign one)", async () => {
    const foreign = await w.alice.api("POST", "/api/configs", jobBody(w, { destinationId: w.bobDest }));
    const unknown = await w.alice.api("POST", "/api/configs", jobBody(w, { destinationId: "nope" }));
    expect(foreign.status).toBe(400);
    expect(foreign.json()).toEqual(unknown.json());
    expect(foreign.json<Fields>().error.fields).toEqual({
      destinationId: "Unknown destination: choose one of your destinations.",
    });
  });

  it("lets an admin define hooks, with defaults; a user's later save keeps them", async () => {
    // The admin edits Alice's job: the destination must still be Alice's.
    const body = jobBody(w, {
      hooks: { pre: { command: "pg_dump db > /tmp/x" }, post: { command: "echo done", timeoutSeconds: 30 } },
    });
    const r = await w.admin.api("PUT", `/api/configs/${id}`, body);
    expect(r.status).toBe(200);
    expect(r.json<ConfigJson>().hooks).toEqual({
      pre: { command: "pg_dump db > /tmp/x", timeoutSeconds: 300, abortOnFailure: true },
      post: { command: "echo done", timeoutSeconds: 30 },
    });
    const mine = await w.alice.api("PUT", `/api/configs/${id}`, jobBody(w, { name: "Renamed" }));
    expect(mine.status).toBe(200);
    expect(mine.json<ConfigJson>().hooks.pre?.command).toBe("pg_dump db > /tmp/x");
    const changed = await w.alice.api(
      "PUT",
      `/api/configs/${id}`,
      jobBody(w, { hooks: { pre: { command: "rm -rf /" } } }),
    );
    expect(changed.status).toBe(403);
    const sameBack = await w.alice.api("PUT", `/api/configs/${id}`, {
      ...jobBody(w),
      hooks: mine.json<ConfigJson>().hooks,
    });
    expect(sameBack.status).toBe(200);
    // Paths are judged for the job's owner, even when an admin edits it.
    const adminOutside = await w.admin.api(
      "PUT",
      `/api/configs/${id}`,
      jobBody(w, { sources: [{ path: "/etc" }] }),
    );
    expect(adminOutside.status).toBe(403);
    expect(adminOutside.json<Fields>().error.fields).toEqual({
      "sources.0.path": "/etc is outside the folders allowed for the job's owner.",
    });
    const adminOwnDest = await w.admin.api(
      "PUT",
      `/api/configs/${id}`,
      jobBody(w, { destinationId: w.bobDest }),
    );
    expect(adminOwnDest.json<Fields>().error.fields).toEqual({
      destinationId: expect.stringMatching(/^Unknown destination/),
    });
  });

  it("switches a job off and on without replacing it", async () => {
    const off = await w.alice.api("PUT", `/api/configs/${id}/enabled`, { enabled: false });
    expect(off.status).toBe(200);
    expect(off.json<ConfigJson>()).toMatchObject({
      enabled: false,
      name: "Documents",
      hooks: { pre: { command: "pg_dump db > /tmp/x" } },
    });
    expect(w.t.services.jobs.nextRun(id)).toBeNull();
    expect(
      (await w.alice.api("PUT", `/api/configs/${id}/enabled`, { enabled: "yes" })).json<Fields>().error
        .fields,
    ).toEqual({
      enabled: "Send true or false.",
    });
    expect((await w.bob.api("PUT", `/api/configs/${id}/enabled`, { enabled: true })).status).toBe(404);
    expect(
      (await w.alice.api("PUT", `/api/configs/${id}/enabled`, { enabled: true })).json<ConfigJson>().enabled,
    ).toBe(true);
  });

  it("answers 404 for another user's job on every method, and lists only one's own", async () => {
    for (const [method, path, body] of [
      ["GET", `/api/configs/${id}`, undefined],
      ["PUT", `/api/configs/${id}`, jobBody(w)],
      ["DELETE", `/api/configs/${id}`, undefined],
      ["POST", `/api/configs/${id}/validate`, undefined],
    ] as const) {
      const r = await w.bob.api(method, path, body);
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.json<Fields>().error.status).toBe(404);
    }
    expect((await w.bob.get("/api/configs")).json()).toEqual({ items: [] });
    expect(
      (await w.admin.get("/api/configs")).json<{ items: ConfigJson[] }>().items.map((j) => j.id),
    ).toEqual([id]);
    expect((await w.bob.get("/api/configs/does-not-exist")).status).toBe(404);
  });

  it("needs a signed-in user", async () => {
    const r = await w.t.app.request("http://backapp.test/api/configs");
    expect(r.status).toBe(401);
  });

  it("records every change in the audit log, without hook commands", async () => {
    const made = await w.alice.api("POST", "/api/configs", jobBody(w, { name: "Temp" }));
    const tempId = made.json<ConfigJson>().id;
    expect((await w.alice.api("DELETE", `/api/configs/${tempId}`)).status).toBe(204);
    expect((await w.alice.get(`/api/configs/${tempId}`)).status).toBe(404);
    const audit = await w.admin.get("/api/audit?limit=100");
    const entries = audit.json<{ entries: { action: string; target: string; details: unknown }[] }>().entries;
    const actions = entries
      .filter((e) => e.action.startsWith("config."))
      .map((e) => `${e.action} ${e.target}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        `config.create config:${id}`,
        `config.update config:${id}`,
        `config.create config:${tempId}`,
        `config.delete config:${tempId}`,
      ]),
    );
    expect(audit.text).not.toContain("pg_dump");
  });
});
