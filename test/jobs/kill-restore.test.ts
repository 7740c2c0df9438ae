/**
 * A real server SIGKILLed in the middle of a restore started through the API, from an S3
 * destination: the read of the pack holding the end of an 18 MiB file is held at a proxy; once the
 * file's start is written (under a temporary name) the server is killed while that read waits. The target then holds no file that looks complete and is not (a file under its real name
 * is the source's, byte for byte; unfinished ones only ever had temporary `.backapp-` names); after
 * a restart the restore is failed/interrupted with an alert naming it, and a re-run completes.
 * Also with the child killed alongside (power loss): only temporary names and the child's lock are
 * left, and the re-run still completes and leaves neither.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { tempName } from "../../src/engine/restore/fs-ops.ts";
import { openSpecRepository } from "../../src/jobs/repository-access.ts";
import { build, dir, file, listTree, treeDifferences } from "../helpers/fs-tree.ts";
import type { GateProxy } from "../helpers/gate-proxy.ts";
import { childPids, waitGone } from "../helpers/process-tree.ts";
import type { TestS3 } from "../helpers/s3rver.ts";
import { waitForRow } from "../helpers/server-process.ts";
import {
  directSpec,
  ended,
  type KillWorld,
  locksIn,
  restoreNow,
  runNow,
  seedS3Job,
  useKillHarness,
} from "./kill-fixture.ts";

const { world, serve } = useKillHarness();

/** Every file under `root` (relative paths), also those with temporary names. */
function filesUnder(root: string, at = root): string[] {
  return readdirSync(at, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(root, join(at, e.name)) : [relative(root, join(at, e.name))],
  );
}

const isTemporary = (path: string) => path.split("/").some((part) => part.startsWith(".backapp-"));

/** Files in the restored copy of `src` under their real names must be the source's exact bytes. */
function expectNoPartialFiles(target: string, src: string): string[] {
  const restored = join(target, src);
  const files = filesUnder(target);
  for (const path of files.filter((p) => !isTemporary(p))) {
    const rel = relative(restored, join(target, path));
    expect(readFileSync(join(target, path)).equals(readFileSync(join(src, rel))), path).toBe(true);
  }
  return files.filter(isTemporary);
}

/**
 * The packs holding the first and the last piece of `file` in the latest snapshot (read straight
 * from s3rver): holding the last one's read leaves the file half-restored, deterministically.
 */
async function packsOf(s3: TestS3, w: KillWorld, file: string): Promise<{ head: string; tail: string }> {
  const repo = await openSpecRepository(directSpec(s3, w.prefix), { lock: "none" });
  try {
    let tree = await repo.loadTree((await repo.findSnapshot("latest")).tree);
    const parts = file.split("/").filter(Boolean);
    for (const name of parts.slice(0, -1))
      tree = await repo.loadTree(tree.nodes.find((n) => n.name === name)!.subtree!);
    const content = tree.nodes.find((n) => n.name === parts.at(-1))!.content!;
    const pack = (id: string) => repo.lookup("data", id)!.pack;
    return { head: pack(content[0]!), tail: pack(content.at(-1)!) };
  } finally {
    await repo.close();
  }
}

/** Waits (with a deadline) until part of a file is written under its temporary name while the held read waits. */
async function untilPartlyWritten(proxy: GateProxy, target: string, src: string): Promise<void> {
  // big.bin's own temporary name: a small file's (c.bin) is written and renamed in a moment, so
  // seeing it is no sign that the held read left a file half-written.
  const big = tempName(Buffer.from(join(target, src)), Buffer.from("big.bin")).toString();
  const partial = () => existsSync(big) && statSync(big).size > 0;
  const deadline = Date.now() + 90_000;
  while (!(partial() && proxy.waiting() > 0)) {
    if (Date.now() > deadline) throw new Error("the restore wrote no partial file while a read waited");
    await Bun.sleep(20);
  }
}

interface Shared {
  s3: TestS3;
  proxy: GateProxy;
  root: string;
  src: string;
  w: KillWorld;
  /** The pack with the end of big.bin (its start is in another). */
  tailPack: string;
}

let shared: Shared;

beforeAll(async () => {
  const { s3, proxy, root } = await world("restore");
  const src = join(root, "src");
  // 18 MiB of random data spans two 16 MiB packs: one file is half-restored while a read waits.
  build(src, {
    "a.txt": file("alpha\n"),
    "big.bin": file(randomBytes(18 * 1024 * 1024)),
    docs: dir({ "b.txt": file("beta\n"), "c.bin": file(randomBytes(64 * 1024)) }),
  });
  const w = await seedS3Job(root, s3, proxy.endpoint, [src]);
  const server = await serve(w.dataDir);
  expect(await ended(w, await runNow(server.url, w))).toEqual({ status: "completed", reason: null });
  server.proc.kill("SIGTERM");
  expect(await server.proc.exited).toBe(0);
  const { head, tail } = await packsOf(s3, w, join(src, "big.bin"));
  expect(head).not.toBe(tail);
  shared = { s3, proxy, root, src, w, tailPack: tail };
}, 240_000);

async function killMidRestore(name: string, killChildToo: boolean) {
  const { proxy, root, src, w, tailPack } = shared;
  const first = await serve(w.dataDir);
  const target = join(root, name);
  void proxy.holdWhen(
    (r) => r.method === "GET" && r.path.endsWith(`/data/${tailPack.slice(0, 2)}/${tailPack}`),
  );
  const restoreId = await restoreNow(first.url, w, target);
  await untilPartlyWritten(proxy, target, src);
  await waitForRow(w.dbPath, `select id from backup_logs where id = '${restoreId}' and status = 'running'`);
  const children = childPids(first.proc.pid);
  expect(children.length).toBe(1);
  if (killChildToo) for (const pid of children) process.kill(pid, "SIGKILL");
  first.proc.kill("SIGKILL");
  await first.proc.exited;
  await waitGone(children);
  const leftovers = expectNoPartialFiles(target, src);
  // Killed with its server, the child could not release its lock; otherwise it did.
  expect((await locksIn(shared.s3, w)).length).toBe(killChildToo ? 1 : 0);
  proxy.release();
  return { w, src, target, restoreId, leftovers };
}
async function restartAndRestoreAgain(k: Awaited<ReturnType<typeof killMidRestore>>) {
  const { w, src, target, restoreId } = k;
  const second = await serve(w.dataDir);
  expect(await ended(w, restoreId)).toEqual({
    status: "failed",
    reason: "interrupted: the server stopped during the run",
  });
  const alert = await waitForRow<{ message: string; destination_id: string; config_id: string | null }>(
    w.dbPath,
    `select message, destination_id, config_id from alerts where kind = 'restore_failed' and log_id = '${restoreId}'`,
  );
  expect(alert).toEqual({
    message: expect.stringMatching(
      /^Restore of snapshot [0-9a-f]{8} from "bucket" was interrupted: the server stopped during the run; the files restored so far are complete/,
    ),
    destination_id: w.destinationId,
    config_id: null,
  });
  const again = await restoreNow(second.url, w, target);
  expect(await ended(w, again)).toEqual({ status: "completed", reason: null });
  expect(treeDifferences(listTree(join(target, src)), listTree(src))).toEqual([]);
  expect(filesUnder(target).filter(isTemporary)).toEqual([]);
  // A lock a dead process of this host left is deleted by the next run that opens the repository.
  expect(await locksIn(shared.s3, w)).toEqual([]);
  second.proc.kill("SIGTERM");
  expect(await second.proc.exited).toBe(0);
}

describe("a server killed mid-restore", () => {
  it("leaves no partial file under a real name, the restore interrupted with an alert, and a re-run completes", async () => {
    const k = await killMidRestore("target-1", false);
    // The orphaned child cancelled its restore: that removes its temporary files too.
    expect(k.leftovers).toEqual([]);
    await restartAndRestoreAgain(k);
  }, 240_000);

  it("with its child killed too, leaves only temporary names, which a re-run replaces", async () => {
    const k = await killMidRestore("target-2", true);
    expect(k.leftovers.length).toBeGreaterThan(0);
    await restartAndRestoreAgain(k);
  }, 240_000);
});
