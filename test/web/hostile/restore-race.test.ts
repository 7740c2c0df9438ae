/**
 * Through the real server (POST /api/restores, restored in the run's child process): a folder of
 * the target that another process replaces with a symlink to an outside folder while the restore
 * runs gets nothing written through it, and the run reports errors. The test waits (polling, no
 * sleeps) for the folder to appear and swaps it at once: the folder holds 3,000 files, so the swap
 * lands long before the restore sets that folder's metadata, which then fails on the symlink.
 * Whatever the timing, nothing may appear outside.
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuthTestServer, type Browser, setupAdmin, startAuthServer } from "../../helpers/auth-server.ts";
import { backUpToFolder, until } from "../../helpers/backed-up.ts";
import { tempDir } from "../../helpers/temp.ts";

let server: AuthTestServer;
let admin: Browser;
const work = tempDir("backapp-restore-race-");
const src = join(work.path, "src");
let destinationId = "";
const FILES = 3000;

type Run = { status: string; errors: Array<{ path: string; message: string }> };

beforeAll(async () => {
  server = await startAuthServer();
  admin = await setupAdmin(server);
  mkdirSync(join(src, "docs"), { recursive: true });
  mkdirSync(join(src, "keep"));
  for (let i = 0; i < FILES; i++) writeFileSync(join(src, "docs", `f${i}`), `file ${i}\n`);
  writeFileSync(join(src, "keep", "ok.txt"), "kept\n");
  destinationId = await backUpToFolder(admin, src, join(work.path, "repo"));
}, 180_000);

afterAll(async () => {
  await server.stop();
  work.cleanup();
});

/** Where the restore writes docs: in the target, or in its staging folder (skip, keep both). */
function docsFolder(target: string, existing: string): string | null {
  if (existing === "overwrite") return join(target, src, "docs");
  if (!existsSync(target)) return null;
  const stage = readdirSync(target).find((n) => n.startsWith(".backapp-restore-"));
  return stage ? join(target, stage, src, "docs") : null;
}

describe("a restore target folder swapped for a symlink mid-restore", () => {
  it.each(["overwrite", "skip"])(
    "%s: nothing is written outside and the run reports errors",
    async (existing) => {
      const outside = join(work.path, `outside-${existing}`);
      mkdirSync(outside);
      const target = join(work.path, `t-${existing}`);
      const r = await admin.api("POST", "/api/restores", {
        destinationId,
        snapshotId: "latest",
        target,
        existing,
      });
      expect(r.status).toBe(202);
      const { restoreId } = r.json<{ restoreId: string }>();
      const docs = await until(
        () => docsFolder(target, existing),
        (p) => p !== null && existsSync(p),
        "the docs folder",
      );
      renameSync(docs as string, join(target, "parked"));
      symlinkSync(outside, docs as string);
      const end = await until(
        async () => (await admin.api("GET", `/api/restores/${restoreId}`)).json<Run>(),
        (b) => b.status !== "queued" && b.status !== "running",
        "the restore to end",
      );
      expect(readdirSync(outside)).toEqual([]);
      expect(end.status).not.toBe("completed");
      expect(end.errors.length).toBeGreaterThan(0);
      expect(JSON.stringify(end.errors)).toMatch(/no longer a folder of the restore target/);
      if (existing === "overwrite") expect(lstatSync(docs as string).isSymbolicLink()).toBe(true);
    },
    180_000,
  );
});
