/**
 * Worker thread entry for opening stored blobs (open-pool.ts): authenticate and decrypt,
 * decompress, check the keyed id, off the main thread of a restore. Started with
 * `new Worker(openWorkerUrl())`; build.ts passes every src/**\/*-worker.ts as an extra entrypoint so
 * this works inside the compiled binary. The stored bytes arrive transferred (ours alone: freed
 * once opened) and the plaintext goes back transferred, so no blob is copied between threads.
 */
import { releaseBuffer, spansWhole } from "../../util/release.ts";
import { type OpenReply, type OpenRequest, openOne } from "./open-core.ts";

declare const self: Worker;

let keys: { encrypt: Uint8Array | null; mac: Uint8Array } | null = null;

self.onmessage = (event: MessageEvent<OpenRequest>) => {
  const req = event.data;
  if (req.kind === "init") {
    keys = req.keys;
    return;
  }
  const stored = new Uint8Array(req.stored);
  try {
    if (!keys) throw new Error("open worker used before init");
    let plain = openOne(keys, req, stored);
    // Transferring moves the whole buffer: never a slice of a shared pool.
    if (!spansWhole(plain)) plain = plain.slice();
    if (plain.buffer !== stored.buffer) releaseBuffer(stored);
    const reply: OpenReply = { seq: req.seq, ok: true, plain };
    self.postMessage(reply, [plain.buffer as ArrayBuffer]);
  } catch (e) {
    releaseBuffer(stored);
    const reply: OpenReply = { seq: req.seq, ok: false, message: e instanceof Error ? e.message : String(e) };
    self.postMessage(reply);
  }
};
