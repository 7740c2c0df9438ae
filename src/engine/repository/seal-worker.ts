/**
 * Worker thread entry for SealCore. Started by seal-pool.ts with
 * `new Worker(new URL("./seal-worker.ts", import.meta.url).href)`; build.ts passes every
 * src/**\/*-worker.ts as an extra entrypoint so this works inside the compiled binary.
 * Finished packs and used plaintext buffers are transferred (not copied) back to the main thread.
 */
import { type CoreReply, type CoreRequest, SealCore } from "./seal-core.ts";

declare const self: Worker;

const core = new SealCore((reply: CoreReply) => {
  if (reply.kind === "pack") self.postMessage(reply, [reply.pack.bytes.buffer as ArrayBuffer]);
  else if ((reply.kind === "added" || reply.kind === "failed") && reply.buffer)
    self.postMessage(reply, [reply.buffer]);
  else self.postMessage(reply);
});

self.onmessage = (event: MessageEvent<CoreRequest>) => core.handle(event.data);
