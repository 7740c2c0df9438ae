/**
 * Checks and restore drills in a run's child process, off the server's event loop. Both take a
 * shared lock (prune cannot delete packs under them) and report one result message; problems
 * found are results, not failures — only a check that could not run at all fails.
 */
import { mkdir, rm } from "node:fs/promises";
import { chooseSample, verifyFiles } from "../engine/browse/index.ts";
import { checkRepository } from "../engine/check.ts";
import { restore } from "../engine/restore.ts";
import { NotFoundError } from "../util/errors.ts";
import { withOpened } from "./operations.ts";
import { openSpecRepository } from "./repository-access.ts";
import type { ChildMessage } from "./run-protocol.ts";
import type { CheckSpec, DrillMismatch, DrillSpec, VerifySpec } from "./verify-protocol.ts";

type Send = (m: ChildMessage) => Promise<void>;

const MAX_PROBLEMS = 100;

export function runVerifyChild(spec: VerifySpec, signal: AbortSignal, send: Send): Promise<void> {
  return spec.kind === "check" ? runCheck(spec, signal, send) : runDrill(spec, signal, send);
}

async function runCheck(spec: CheckSpec, signal: AbortSignal, send: Send): Promise<void> {
  const open = () => openSpecRepository(spec.target, { lock: "shared", signal });
  await withOpened(open, async (repo) => {
    await send({ type: "opened" });
    const r = await checkRepository(repo, { readDataSubsetPct: spec.readDataPct, signal });
    const details = {
      readDataPct: spec.readDataPct,
      packsChecked: r.packsChecked,
      blobsChecked: r.blobsChecked,
      snapshots: r.snapshots,
      unindexedPacks: r.unindexedPacks,
      problems: r.errors.slice(0, MAX_PROBLEMS).map((e) => ({ object: e.object, message: e.message })),
      problemCount: r.errors.length,
    };
    await send({ type: "checked", details });
  });
}

async function runDrill(spec: DrillSpec, signal: AbortSignal, send: Send): Promise<void> {
  const started = performance.now();
  const open = () => openSpecRepository(spec.target, { lock: "shared", signal });
  await withOpened(open, async (repo) => {
    await send({ type: "opened" });
    const tag = `job:${spec.configId}`;
    const snapshots = (await repo.listSnapshots(signal)).filter((s) => s.tags.includes(tag));
    const snapshot = snapshots.sort((a, b) => Date.parse(b.time) - Date.parse(a.time))[0];
    if (!snapshot) throw new NotFoundError("the job has no snapshot to drill yet");
    const sample = await chooseSample(repo, snapshot, { count: spec.count, maxBytes: spec.maxBytes, signal });
    const restoreErrors: DrillMismatch[] = [];
    await rm(spec.folder, { recursive: true, force: true });
    await mkdir(spec.folder, { recursive: true, mode: 0o700 });
    try {
      if (sample.files.length > 0) {
        await restore(repo, snapshot, {
          target: spec.folder,
          includes: sample.files.map((f) => f.path),
          signal,
          onError: (e) => restoreErrors.push({ path: e.path, reason: "restore", detail: e.message }),
        });
      }
      const restoreMs = Math.round(performance.now() - started);
      const restored = await verifyFiles(repo, sample.files, { root: spec.folder, signal });
      const source = await verifyFiles(repo, sample.files, { root: "/", skipChanged: true, signal });
      const details = {
        snapshotId: snapshot.id,
        seed: sample.seed,
        candidates: sample.candidates,
        files: sample.files.length,
        bytes: sample.bytes,
        restoreMs,
        restored: { ...restored, mismatches: restored.mismatches.slice(0, MAX_PROBLEMS) },
        source: { ...source, mismatches: source.mismatches.slice(0, MAX_PROBLEMS) },
        restoreErrors: restoreErrors.slice(0, MAX_PROBLEMS),
      };
      await send({ type: "drilled", details });
    } finally {
      await rm(spec.folder, { recursive: true, force: true });
    }
  });
}
