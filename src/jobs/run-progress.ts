/** The engine's progress and file errors as a run's child reports them (backups and restores alike). */
import type { FileError, ProgressEvent } from "../engine/types.ts";
import type { ChildMessage } from "./run-protocol.ts";

/**
 * onProgress/onError for an engine call, sending `progress` and `file-error` lines; `uploaded`
 * (when given) says how many bytes the run has stored so far.
 */
export function reportTo(send: (m: ChildMessage) => Promise<void>, uploaded?: () => number) {
  return {
    progressIntervalMs: 500,
    onProgress: (e: ProgressEvent) => {
      if (e.type !== "progress") return;
      const progress = {
        filesDone: e.files_done,
        filesTotal: e.files_total,
        bytesDone: e.bytes_done,
        bytesTotal: e.bytes_total,
        rate: e.rate,
        eta: e.eta,
        errors: e.errors,
        current: e.current.slice(0, 4),
        ...(uploaded ? { bytesUploaded: uploaded() } : {}),
      };
      void send({ type: "progress", progress });
    },
    onError: (e: FileError) => void send({ type: "file-error", path: e.path, message: e.message }),
  };
}
