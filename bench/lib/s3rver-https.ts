/**
 * Runs s3rver over HTTPS in its own process, for benchmarks that compare S3 clients (restic's
 * client sends aws-chunked bodies over plain http, which s3rver stores verbatim; over https it
 * signs the payload instead). Prints one JSON line {endpoint, bucket} when ready.
 *
 *   bun bench/lib/s3rver-https.ts DIR KEY.pem CERT.pem
 *
 * Same Bun shims as test/helpers/s3rver.ts: a sorted folder walk (listing pages) and the "des"
 * cipher alias (continuation tokens).
 */
import crypto from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { posix } from "node:path";

const [dir, keyFile, certFile] = process.argv.slice(2);
if (!dir || !keyFile || !certFile) throw new Error("usage: s3rver-https.ts DIR KEY CERT");

function* sortedWalk(d: string, filter?: (p: string) => boolean): Generator<string> {
  for (const name of readdirSync(d).sort()) {
    const path = posix.join(d, name);
    if (!statSync(path).isDirectory()) yield path;
    else if (!filter || filter(path)) yield* sortedWalk(path, filter);
  }
}

const require = createRequire(import.meta.url);
(require("s3rver/lib/utils.js") as { walk: unknown }).walk = sortedWalk;
const c = crypto as unknown as Record<string, (...a: unknown[]) => unknown>;
for (const fn of ["createCipheriv", "createDecipheriv"]) {
  const orig = c[fn]!.bind(crypto);
  c[fn] = (name: unknown, ...rest: unknown[]) => orig(name === "des" ? "des-cbc" : name, ...rest);
}
const S3rver = require("s3rver") as new (
  o: Record<string, unknown>,
) => {
  run(): Promise<{ port: number }>;
};

const bucket = "bench";
const server = new S3rver({
  address: "127.0.0.1",
  port: 0,
  silent: true,
  directory: dir,
  key: readFileSync(keyFile),
  cert: readFileSync(certFile),
  configureBuckets: [{ name: bucket }],
});
const { port } = await server.run();
console.log(JSON.stringify({ endpoint: `https://127.0.0.1:${port}`, bucket }));
