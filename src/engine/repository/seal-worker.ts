/**
 * Worker thread entry for SealCore. Started by seal-pool.ts with
 * `new Worker(new URL("./seal-worker.ts", import.meta.url).href)`; build.ts passes every
 * src/**\/*-worker.ts as an extra entrypoint so this works inside the compiled binary.
 * Finished packs are transferred (not copied) to the main thread, which transfers them back.
 */
import { type CoreReply, type CoreRequest, SealCore } from "./seal-core.ts";

declare const self: Worker;

const core = new SealCore((reply: CoreReply) => {
  if (reply.kind === "pack") self.postMessage(reply, [reply.pack.bytes.buffer as ArrayBuffer]);
  else self.postMessage(reply);
});

self.onmessage = (event: MessageEvent<CoreRequest>) => core.handle(event.data);
