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

export class RecoveryCopies {
  /** The text each destination's repository was last given by this server. */
  private readonly stored = new Map<string, string>();
  private running: Promise<void> | null = null;
  private again = false;

  constructor(private readonly deps: RecoveryCopyDeps) {}

  /** Definitions changed: write the copies that differ (coalesced while a pass is running). */
  changed(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass().finally(() => {
      this.running = null;
    });
  }

  /** Resolves when no pass is running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async pass(): Promise<void> {
    do {
      this.again = false;
      for (const row of listDestinationRows(this.deps.db)) {
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
