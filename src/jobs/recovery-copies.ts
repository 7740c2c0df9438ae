/**
 * Keeps each repository's recovery copy current when definitions change (a job created, changed,
 * enabled or deleted): the changed copies are written one after another, each by a small child
 * run, in the background. A destination gets a copy only while it has jobs, or once this server
 * wrote one (its last job was deleted): a server that merely attached a repository must not
 * replace the copy another server left there with an empty one before the user imported it.
 */

import { listConfigRecords } from "../db/backup-configs.ts";
import type { Db } from "../db/client.ts";
import { listDestinationRows } from "../db/destinations.ts";
import type { Logger } from "../util/logger.ts";
import type { RecoveryCopySpec } from "./recovery-copy-child.ts";
import { recoveryCopyText } from "./recovery-document.ts";
import type { RepositoryTargetSpec } from "./repository-access.ts";
import type { ChildRun } from "./run-process.ts";
import type { ChildMessage } from "./run-protocol.ts";

export interface RecoveryCopyDeps {
  db: Db;
  logger: Logger;
  targetSpec(destinationId: string): Promise<RepositoryTargetSpec>;
  startChild(spec: RecoveryCopySpec, onMessage: (m: ChildMessage) => void): ChildRun;
}

/**
 * Changes come in bursts (a job saved, then enabled; an import of ten jobs): a pass starts this
 * long after the first change of a burst and covers all of them, one child per changed copy.
 */
const SETTLE_MS = 3000;

export class RecoveryCopies {
  /** The text each destination's repository was last given by this server. */
  private readonly stored = new Map<string, string>();
  private running: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private again = false;
  private stopped = false;

  constructor(private readonly deps: RecoveryCopyDeps) {}

  /** Definitions changed: write the copies that differ, soon (coalesced with later changes). */
  changed(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.pass()
        .catch((e: unknown) => {
          this.deps.logger.warn({ problem: (e as Error).message }, "recovery copies not written");
        })
        .finally(() => {
          this.running = null;
        });
    }, SETTLE_MS);
    this.timer.unref?.();
  }

  /** Writes what a pending change asks for now, and resolves when no pass is running (tests, shutdown). */
  async idle(): Promise<void> {
    if (this.timer && !this.stopped) {
      clearTimeout(this.timer);
      this.timer = null;
      this.running = this.pass().finally(() => {
        this.running = null;
      });
    }
    while (this.running) await this.running;
  }

  /** Shutdown: no new pass starts and a running one ends after its current write (the database is closing). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async pass(): Promise<void> {
    do {
      this.again = false;
      for (const row of this.stopped ? [] : listDestinationRows(this.deps.db)) {
        if (this.stopped) return;
        const hasJobs = listConfigRecords(this.deps.db, { destinationId: row.id }).length > 0;
        if (!hasJobs && !this.stored.has(row.id)) continue;
        const text = recoveryCopyText(this.deps.db, row.id);
        if (text === null || this.stored.get(row.id) === text) continue;
        if (await this.write(row.id, text)) this.stored.set(row.id, text);
      }
    } while (this.again);
  }

  private async write(destinationId: string, text: string): Promise<boolean> {
    let stored = false;
    let problem = "";
    try {
      const target = await this.deps.targetSpec(destinationId);
      const child = this.deps.startChild({ kind: "recovery-copy", target, text }, (m) => {
        if (m.type === "recovery-copy") stored = true;
        if (m.type === "failed") problem = m.message;
      });
      await child.done;
    } catch (e) {
      problem = (e as Error).message;
    }
    if (!stored) {
      // The next change or the next successful run writes it.
      this.deps.logger.warn({ destinationId, problem }, "recovery copy not written");
    }
    return stored;
  }
}
