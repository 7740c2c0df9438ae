/**
 * Page latency while the server's first listing of a destination opens its repository (a key
 * derivation at the calibrated scrypt cost, about half a second on an idle machine). Starts the
 * real server in-process, adds a local destination, then lists its snapshots (the first listing
 * opens the repository) while GET /healthz is requested back to back and a 10 ms timer watches
 * the event loop. Prints one JSON line: the listing's status and time, /healthz p50/max, the
 * timer's worst gap. With key derivation on the event loop the gap was the derivation's length.
 *
 * Usage: node_modules/.bin/bun bench/first-listing.ts
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setupAdmin, startAuthServer } from "../test/helpers/auth-server.ts";

const server = await startAuthServer();
const admin = await setupAdmin(server);
const path = join(mkdtempSync(join(tmpdir(), "backapp-first-listing-")), "repo");
const made = await admin.api("POST", "/api/destinations", {
  type: "local",
  name: "disk",
  path,
  password: "a long passphrase",
});
const destinationId = made.json<{ id: string }>().id;

let last = performance.now();
let worstGap = 0;
const timer = setInterval(() => {
  const now = performance.now();
  worstGap = Math.max(worstGap, now - last);
  last = now;
}, 10);
const start = performance.now();
let listed = false;
const listing = admin.api("GET", `/api/snapshots?destinationId=${destinationId}`).then((r) => {
  listed = true;
  return { status: r.status, ms: Math.round(performance.now() - start) };
});
const latencies: number[] = [];
while (!listed) {
  const t = performance.now();
  await (await fetch(`${server.url}/healthz`)).text();
  latencies.push(performance.now() - t);
}
clearInterval(timer);
latencies.sort((a, b) => a - b);
const ms = (x: number | undefined) => Math.round((x ?? 0) * 10) / 10;
console.log(
  JSON.stringify({
    listing: await listing,
    healthz: {
      requests: latencies.length,
      p50: ms(latencies[latencies.length >> 1]),
      max: ms(latencies.at(-1)),
    },
    worstTimerGapMs: Math.round(worstGap),
  }),
);
await server.stop();
process.exit(0);
