/**
 * A local-folder destination, a job over `src` and one completed backup, made through the real
 * server's API (for tests that restore or browse what was backed up).
 */
import { expect } from "vitest";
import type { Browser } from "./auth-server.ts";

/** Polls `read` (yielding to the event loop between reads) until `ok`, or throws after ~170 s. */
export async function until<T>(read: () => Promise<T> | T, ok: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 170_000;
  while (Date.now() < deadline) {
    const v = await read();
    if (ok(v)) return v;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** Returns the destination's id once the backup completed. */
export async function backUpToFolder(admin: Browser, src: string, repo: string): Promise<string> {
  const d = await admin.api("POST", "/api/destinations", {
    type: "local",
    name: "disk",
    path: repo,
    password: "a long repository passphrase for tests",
  });
  expect(d.status).toBe(201);
  const destinationId = d.json<{ id: string }>().id;
  const job = await admin.api("POST", "/api/configs", {
    name: "Backed up",
    sources: [{ path: src }],
    destinationId,
    schedule: { cronExpression: "", timezone: "UTC" },
  });
  const run = await admin.api("POST", `/api/backups/execute/${job.json<{ id: string }>().id}`);
  const { logId } = run.json<{ logId: string }>();
  await until(
    async () => (await admin.api("GET", `/api/backups/${logId}`)).json<{ status: string }>(),
    (b) => b.status === "completed",
    "the backup",
  );
  return destinationId;
}
