import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sealWorkerUrl } from "../../../src/engine/repository/seal-pool.ts";
import { tempDir } from "../../helpers/temp.ts";

const root = resolve(import.meta.dirname, "../../..");
const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe("seal workers", () => {
  it("resolve next to the module from source and under src/ inside the compiled binary", () => {
    expect(sealWorkerUrl("file:///work/src/engine/repository/seal-pool.ts")).toBe(
      "file:///work/src/engine/repository/seal-worker.ts",
    );
    expect(sealWorkerUrl("file:///$bunfs/root/backapp")).toBe(
      "file:///$bunfs/root/engine/repository/seal-worker.ts",
    );
  });

  it("run inside a compiled binary built like build.ts builds (worker as an extra entrypoint)", () => {
    const entry = join(tmp.path, "entry.ts");
    const src = join(root, "src");
    writeFileSync(
      entry,
      `import { initRepository, openRepository } from ${JSON.stringify(`${src}/engine/repository/index.ts`)};
import { createMemoryBackend } from ${JSON.stringify(`${src}/storage/memory.ts`)};
const b = createMemoryBackend();
const opts = { workers: 2, packSize: 100_000, ownsBackend: false, scrypt: { N: 1024, r: 8, p: 1 } };
const r = await initRepository(b, "pw", opts);
const blobs = Array.from({ length: 8 }, () => crypto.getRandomValues(new Uint8Array(40_000)));
for (const d of blobs) await r.saveBlob("data", r.blobId(d), d);
await r.flush();
await r.close();
const r2 = await openRepository(b, "pw", { ownsBackend: false });
for (const d of blobs) if (Buffer.compare(await r2.loadBlob("data", r2.blobId(d)), d) !== 0) throw new Error("mismatch");
await r2.close();
console.log("blobs " + r2.index.size);
`,
    );
    const outfile = join(tmp.path, "app");
    // build.ts's entrypoints (src/main.ts and src/**/*-worker.ts) have src/ as their common root.
    const build = Bun.spawnSync(
      [
        process.execPath,
        "build",
        "--compile",
        "--root",
        src,
        entry,
        `${src}/engine/repository/seal-worker.ts`,
        "--outfile",
        outfile,
      ],
      { cwd: root, stderr: "pipe", stdout: "pipe" },
    );
    expect(build.exitCode, build.stderr.toString()).toBe(0);
    const run = Bun.spawnSync([outfile], { cwd: tmp.path, stderr: "pipe", stdout: "pipe" });
    expect(run.stderr.toString()).toBe("");
    expect(run.stdout.toString().trim()).toBe("blobs 8");
  });
});
