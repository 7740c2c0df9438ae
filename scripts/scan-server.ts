/**
 * A signed-in server for a web scanner (docs/security.md): the real server on a loopback port with
 * an admin, a destination, a job with one completed run and snapshot, a failed run's alert and a
 * notification channel, so the scanner sees every page filled. Prints the URL and the session
 * cookie as JSON on one line, then serves until killed. Never part of `npm test`.
 *   bun scripts/scan-server.ts > /tmp/scan/server.json
 */
import { startHostile } from "../test/web/hostile/fixture.ts";

const h = await startHostile();
const cookie = [...h.admin.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
console.log(JSON.stringify({ url: h.server.url, cookie, ids: h.ids }));
process.on("SIGTERM", () => void h.stop().then(() => process.exit(0)));
