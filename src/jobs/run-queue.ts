/**
 * Which run goes next. A job never overlaps itself; runs into one repository (same destination
 * or same repository id) wait for each other; runs into different repositories go side by side up
 * to a global limit (read at each decision, so a changed setting applies at once). Order is first
 * come, first served among the runs that may start.
 */
export interface QueuedRun {
  logId: string;
  configId: string;
  /** Runs with the same key share a repository. */
  repoKey: string;
}

export class RunQueue {
  private readonly waiting: QueuedRun[] = [];
  private readonly running = new Map<string, QueuedRun>();

  constructor(
    private readonly limit: () => number,
    private readonly start: (run: QueuedRun) => Promise<void>,
  ) {}

  add(run: QueuedRun): void {
    this.waiting.push(run);
    this.pump();
  }

  /** Takes a waiting run out of the queue; false when it is not waiting (running or unknown). */
  remove(logId: string): boolean {
    const i = this.waiting.findIndex((r) => r.logId === logId);
    if (i < 0) return false;
    this.waiting.splice(i, 1);
    return true;
  }

  /** The log id of the job's waiting or running run, or null. */
  activeRunOf(configId: string): string | null {
    for (const r of this.running.values()) if (r.configId === configId) return r.logId;
    return this.waiting.find((r) => r.configId === configId)?.logId ?? null;
  }

  isRunning(logId: string): boolean {
    return this.running.has(logId);
  }

  waitingIds(): string[] {
    return this.waiting.map((r) => r.logId);
  }

  runningIds(): string[] {
    return [...this.running.keys()];
  }

  private blocked(run: QueuedRun): boolean {
    for (const r of this.running.values()) {
      if (r.repoKey === run.repoKey || r.configId === run.configId) return true;
    }
    return false;
  }

  /** Starts waiting runs the limit now allows (after the limit was raised). */
  refresh(): void {
    this.pump();
  }

  private pump(): void {
    for (let i = 0; i < this.waiting.length && this.running.size < this.limit(); ) {
      const run = this.waiting[i] as QueuedRun;
      if (this.blocked(run)) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      this.running.set(run.logId, run);
      void this.start(run)
        .catch(() => {})
        .finally(() => {
          this.running.delete(run.logId);
          this.pump();
        });
    }
  }
}
