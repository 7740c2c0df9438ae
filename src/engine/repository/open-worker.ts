/**
 * Worker thread entry for opening stored blobs (open-pool.ts): authenticate and decrypt,
 * decompress, check the keyed id, off the main thread of a restore. Started with
 * `new Worker(openWorkerUrl())`; build.ts passes every src/**\/*-worker.ts as an extra entrypoint so
 * this works inside the compiled binary. The stored bytes arrive transferred, and their buffer goes
 * back with the plaintext (transferred too) to carry a later blob: nothing is copied between
 * threads, and the main thread does not fault in a fresh buffer per blob.
 */
import { spansWhole } from "../../util/release.ts";
import { type OpenReply, type OpenRequest, openOne } from "./open-core.ts";

declare const self: Worker;

let keys: { encrypt: Uint8Array | null; mac: Uint8Array } | null = null;

self.onmessage = (event: MessageEvent<OpenRequest>) => {
  const req = event.data;
  if (req.kind === "init") {
    keys = req.keys;
    return;
  }
  const stored = new Uint8Array(req.stored, 0, req.length);
  try {
    if (!keys) throw new Error("open worker used before init");
    let plain = openOne(keys, req, stored);
    // Transferring moves the whole buffer: never a slice of a shared pool.
    if (!spansWhole(plain) && plain.buffer !== stored.buffer) plain = plain.slice();
    const spare = plain.buffer === stored.buffer ? undefined : req.stored;
    const reply: OpenReply = { seq: req.seq, ok: true, plain, spare };
    self.postMessage(reply, spare ? [plain.buffer as ArrayBuffer, spare] : [req.stored]);
  } catch (e) {
    const reply: OpenReply = {
      seq: req.seq,
      ok: false,
      message: e instanceof Error ? e.message : String(e),
      spare: req.stored,
    };
    self.postMessage(reply, [req.stored]);
  }
};
