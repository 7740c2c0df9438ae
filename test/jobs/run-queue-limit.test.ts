/** A raised concurrency limit starts waiting runs when the queue is refreshed, not only at the next finish. */
import { describe, expect, it } from "vitest";
import { type QueuedRun, RunQueue } from "../../src/jobs/run-queue.ts";

describe("RunQueue limit change", () => {
  it("starts waiting runs the raised limit allows on refresh()", () => {
    let limit = 1;
    const started: string[] = [];
    const queue = new RunQueue(
      () => limit,
      (run: QueuedRun) => {
        started.push(run.logId);
        return new Promise<void>(() => {});
      },
    );
    for (const n of ["a", "b", "c"]) queue.add({ logId: n, configId: n, repoKey: n });
    expect(started).toEqual(["a"]);
    limit = 3;
    queue.refresh();
    expect(started).toEqual(["a", "b", "c"]);
    expect(queue.waitingIds()).toEqual([]);
  });
});
