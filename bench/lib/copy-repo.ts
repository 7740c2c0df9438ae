/**
 * Copies every object of a local-folder repository to a repository address (s3://BUCKET/PREFIX),
 * 8 at a time: `bun bench/lib/copy-repo.ts DIR ADDRESS`. S3 settings come from the AWS_*
 * variables (and NODE_EXTRA_CA_CERTS for a self-signed s3rver), so benchmarks can build a
 * repository once on a fast local folder and measure commands against S3.
 */
import { mapLimit } from "../../src/engine/repository/map-limit.ts";
import { createLocalBackend } from "../../src/storage/local.ts";
import { openBackend } from "../../src/storage/open.ts";

const [dir, address] = process.argv.slice(2);
if (!dir || !address) throw new Error("usage: copy-repo.ts DIR ADDRESS");
const from = createLocalBackend(dir);
const to = openBackend(address, {
  endpoint: process.env.AWS_ENDPOINT_URL,
  region: process.env.AWS_REGION,
  accessKeyId: process.env.AWS_ACCESS_KEY_ID,
  secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
});
const names: string[] = [];
for await (const o of from.list("")) names.push(o.name);
await mapLimit(names, 8, async (name) => to.put(name, await from.get(name)));
await to.close();
await from.close();
console.log(`copied ${names.length} objects`);
