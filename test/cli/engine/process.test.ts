/**
 * The engine commands as real processes (`bun src/main.ts ...`), as scripts and the web app run
 * them: exit codes, raw dump bytes on stdout, SIGINT cancelling a backup cleanly, and a backup
 * killed with SIGKILL mid-upload leaving a repository that check accepts and the next backup
 * completes — on a local folder and on s3rver.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openBackend } from "../../../src/storage/open.ts";
import { bunPath, mainPath } from "../../helpers/cli.ts";
import { startS3rver, type TestS3 } from "../../helpers/s3rver.ts";
import { tempDir } from "../../helpers/temp.ts";
import {
  backapp,
  expectSameTree,
  jsonLines,
  localRepo,
  makeTree,
  randomBytesSeeded,
  s3Repo,
  type TestRepo,
} from "./fixtures.ts";

const MiB = 1024 * 1024;
let s3: TestS3;
const dir = tempDir("backapp-cli-proc-");
const out = tempDir("backapp-cli-proc-out-");
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3.stop();
  dir.cleanup();
  out.cleanup();
});

const run = (repo: TestRepo, args: string[]) => backapp(repo, args, { process: true, timeoutMs: 120_000 });

/** A backapp child process whose stdout lines are collected as they come. */
function spawnBackapp(repo: TestRepo, args: string[]) {
  const proc = Bun.spawn([bunPath, mainPath, ...args], {
    env: { ...process.env, ...repo.env } as Record<string, string>,
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: string[] = [];
  const stderr = new Response(proc.stderr).text();
  const reading = (async () => {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of proc.stdout) {
      rest += decoder.decode(chunk, { stream: true });
      const parts = rest.split("\n");
      rest = parts.pop() ?? "";
      lines.push(...parts);
    }
  })();
  return { proc, lines, stderr, done: Promise.all([proc.exited, reading]).then(([code]) => code) };
}

async function objectNames(repo: TestRepo, prefix: string): Promise<string[]> {
  const backend = openBackend(repo.address, {
    endpoint: repo.env.AWS_ENDPOINT_URL,
    region: repo.env.AWS_REGION,
    accessKeyId: repo.env.AWS_ACCESS_KEY_ID,
    secretAccessKey: repo.env.AWS_SECRET_ACCESS_KEY,
  });
  const names: string[] = [];
  try {
    for await (const o of backend.list(prefix)) names.push(o.name);
  } finally {
    await backend.close();
  }
  return names;
}

async function waitFor(what: string, test: () => Promise<boolean> | boolean, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await test()) return;
    await Bun.sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

// Real processes on two shared cores: generous per-test limits (no timing is asserted).
describe.each(["local", "s3"] as const)("as processes on %s", { timeout: 180_000 }, (kind) => {
  let repo: TestRepo;
  const src = join(dir.path, kind);

  beforeAll(async () => {
    repo = kind === "local" ? localRepo(join(out.path, "repo-local")) : s3Repo(s3);
    makeTree(src, {
      "notes/ünïcode name.txt": "text\n",
      empty: "",
      link: { symlink: "notes" },
      "nothing here": { dir: true },
      ...Object.fromEntries(
        [0, 1, 2, 3].map((i) => [`big/part-${i}.bin`, randomBytesSeeded(8 * MiB, 100 + i)]),
      ),
    });
    const init = await run(repo, ["init"]);
    expect(init.code).toBe(0);
  });

  it("SIGINT cancels a backup cleanly: exit 1, no snapshot, no lock left", async () => {
    const child = spawnBackapp(repo, ["backup", "--json", "--limit-upload", "4096", src]);
    // Reading is done in a moment; the 32 MiB then take seconds to upload at 4 MiB/s (bytes_done
    // counts stored data, so it may stay 0 until the first packs are up): cancel once files are read.
    await waitFor("files read", () =>
      child.lines.some((l) => l.includes('"type":"progress"') && !l.includes('"files_done":0,')),
    );
    child.proc.kill("SIGINT");
    expect(await child.done).toBe(1);
    expect(await child.stderr).toBe("backapp backup: cancelled\n");
    expect(await objectNames(repo, "snapshots/")).toEqual([]);
    expect(await objectNames(repo, "locks/")).toEqual([]);
  });

  it("a backup killed with SIGKILL mid-upload leaves a repository check accepts; the next backup completes", async () => {
    const packsBefore = (await objectNames(repo, "data/")).length;
    const child = spawnBackapp(repo, ["backup", "--json", "--limit-upload", "4096", src]);
    await waitFor(
      "a first pack uploaded",
      async () => (await objectNames(repo, "data/")).length > packsBefore,
    );
    child.proc.kill("SIGKILL");
    await child.done;
    expect(child.proc.signalCode).toBe("SIGKILL");
    expect(child.lines.some((l) => l.includes('"type":"summary"'))).toBe(false);
    expect(await objectNames(repo, "snapshots/")).toEqual([]);

    const check = await run(repo, ["check", "--read-data"]);
    expect(check.stdout).toContain("no errors were found");
    expect(check.code).toBe(0);

    const next = await run(repo, ["backup", "--json", src]);
    expect(next.stderr).toBe("");
    expect(next.code).toBe(0);
    const summary = jsonLines(next.stdout).at(-1) as { files_new: number; errors: unknown[] };
    expect(summary.files_new).toBe(6);
    expect(summary.errors).toEqual([]);

    const target = join(out.path, `restore-${kind}`);
    const restore = await run(repo, ["restore", "latest", "--target", target, "--verify"]);
    expect(restore.code).toBe(0);
    expectSameTree(join(target, src), src);
    expect((await run(repo, ["check", "--read-data"])).code).toBe(0);
  });

  it("dump writes the exact bytes to stdout", async () => {
    const proc = Bun.spawn([bunPath, mainPath, "dump", "latest", `${src}/big/part-2.bin`], {
      env: { ...process.env, ...repo.env } as Record<string, string>,
      stdout: "pipe",
      stderr: "pipe",
    });
    const [bytes, code] = await Promise.all([new Response(proc.stdout).arrayBuffer(), proc.exited]);
    expect(code).toBe(0);
    const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
    expect(bytes.byteLength).toBe(8 * MiB);
    expect(sha(new Uint8Array(bytes))).toBe(sha(readFileSync(`${src}/big/part-2.bin`)));
  });
});

describe("exit codes of real processes", { timeout: 120_000 }, () => {
  it("0 ok, 1 wrong passphrase (one line), 2 usage, 3 unreadable file", async () => {
    const repo = localRepo(join(out.path, "codes"));
    const src = join(dir.path, "codes");
    makeTree(src, { "a.txt": "a" });
    expect((await run(repo, ["init"])).code).toBe(0);
    const ok = await run(repo, ["backup", src]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/\n[0-9a-f]{64}\n$/);
    const wrong = await backapp(repo, ["snapshots"], { process: true, env: { BACKAPP_PASSWORD: "nope" } });
    expect(wrong).toEqual({
      code: 1,
      stdout: "",
      stderr: "backapp snapshots: wrong password or no key found\n",
    });
    const usage = await run(repo, ["backup", "--frobnicate", src]);
    expect(usage.code).toBe(2);
    expect(usage.stderr.split("\n")[0]).toBe("backapp backup: unknown flag --frobnicate");
    const partial = await run(repo, ["backup", "--json", src, "/proc/self/mem"]);
    expect(partial.code).toBe(3);
    const last = jsonLines(partial.stdout).at(-1) as { type: string; errors: { path: string }[] };
    expect(last.type).toBe("summary");
    expect(last.errors.map((e) => e.path)).toEqual(["/proc/self/mem"]);
  });
});
