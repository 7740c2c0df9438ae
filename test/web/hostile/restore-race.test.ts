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
import {
  ALICE,
  type AuthTestServer,
  addUser,
  type Browser,
  setupAdmin,
  startAuthServer,
} from "../../helpers/auth-server.ts";
import { backUpToFolder, until } from "../../helpers/backed-up.ts";
import { tempDir } from "../../helpers/temp.ts";

let server: AuthTestServer;
let admin: Browser;
const work = tempDir("backapp-restore-race-");
const src = join(work.path, "src");
let destinationId = "";
const FILES = 3000;

/** docs/ with FILES files (long enough to restore that a swap lands mid-restore) and keep/ok.txt. */
function source(at: string): void {
  mkdirSync(join(at, "docs"), { recursive: true });
  mkdirSync(join(at, "keep"));
  for (let i = 0; i < FILES; i++) writeFileSync(join(at, "docs", `f${i}`), `file ${i}\n`);
  writeFileSync(join(at, "keep", "ok.txt"), "kept\n");
}

async function restoreAs(b: Browser, body: Record<string, unknown>): Promise<string> {
  const r = await b.api("POST", "/api/restores", { snapshotId: "latest", ...body });
  expect(r.status).toBe(202);
  return r.json<{ restoreId: string }>().restoreId;
}

async function ended(b: Browser, restoreId: string): Promise<Run> {
  return until(
    async () => (await b.api("GET", `/api/restores/${restoreId}`)).json<Run>(),
    (run) => run.status !== "queued" && run.status !== "running",
    "the restore to end",
  );
}

type Run = { status: string; errors: Array<{ path: string; message: string }> };

beforeAll(async () => {
  server = await startAuthServer();
  admin = await setupAdmin(server);
  source(src);
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
      // The swap races the restore: on a loaded machine the restore can finish the folder before
      // the poll sees it. Such a late swap proves nothing, so the round is tried again (nothing may
      // land outside in any round); one round that lands mid-restore is required.
      let end: Run | undefined;
      let docs = "";
      for (let round = 0; round < 4 && (!end || end.status === "completed"); round++) {
        const outside = join(work.path, `outside-${existing}-${round}`);
        mkdirSync(outside);
        const target = join(work.path, `t-${existing}-${round}`);
        const restoreId = await restoreAs(admin, { destinationId, target, existing });
        docs = (await until(
          () => docsFolder(target, existing),
          (p) => p !== null && existsSync(p),
          "the docs folder",
        )) as string;
        renameSync(docs, join(target, "parked"));
        symlinkSync(outside, docs);
        end = await ended(admin, restoreId);
        expect(readdirSync(outside)).toEqual([]);
      }
      expect(end!.status).not.toBe("completed");
      expect(end!.errors.length).toBeGreaterThan(0);
      expect(JSON.stringify(end!.errors)).toMatch(/no longer a folder of the restore target/);
      if (existing === "overwrite") expect(lstatSync(docs).isSymbolicLink()).toBe(true);
    },
    300_000,
  );

  it("a queued restore whose target became a symlink out of the user's folders is refused when it starts", async () => {
    const root = join(work.path, "alice-root");
    const outside = join(work.path, "outside-alice");
    mkdirSync(outside);
    source(join(root, "src"));
    const alice = await addUser(server, admin, ALICE);
    const me = (await alice.api("GET", "/api/profile")).json<{ user: { id: string } }>();
    const patch = await admin.api("PATCH", `/api/users/${me.user.id}`, { allowedRoots: [root] });
    expect(patch.status).toBe(200);
    const mine = await backUpToFolder(alice, join(root, "src"), join(root, "repo"));
    // The first restore holds the repository's queue; the second waits behind it, checked but not begun.
    const first = await restoreAs(alice, {
      destinationId: mine,
      target: join(root, "t1"),
      existing: "overwrite",
    });
    const second = await restoreAs(alice, {
      destinationId: mine,
      target: join(root, "t2"),
      existing: "overwrite",
    });
    symlinkSync(outside, join(root, "t2"));
    expect((await ended(alice, first)).status).toBe("completed");
    const end = await ended(alice, second);
    expect(end.status).toBe("failed");
    expect(JSON.stringify(end)).toMatch(/outside the allowed folders/);
    expect(readdirSync(outside)).toEqual([]);
  }, 180_000);
});
