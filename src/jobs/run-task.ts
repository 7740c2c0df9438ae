/**
 * A queued run of another kind than a backup (a restore): it waits in the same queue as backups
 * (runs into one repository take turns, the global limit holds), and cancel and shutdown reach it
 * the same way. The task writes its own row and events.
 */
export interface QueuedTask {
  /** Its backup_logs row (kind other than "backup"), already inserted as queued. */
  logId: string;
  destinationId: string;
  /** Runs it; the signal fires on cancel or shutdown. Must not throw (failures end the row). */
  run(signal: AbortSignal): Promise<void>;
  /** Ends the row of a task that never started (cancelled while queued, shutdown). */
  endQueued(reason: string): void;
}
