/**
 * A run's child whose server died while its stdin stays open (another process inherited the pipe's
 * write end): it notices it was re-parented, cancels the backup, releases its repository lock and
 * exits. The shell stands in for the server: `(cat spec; exec sleep) | backapp __run` keeps the
 * child's stdin open after the shell is SIGKILLed.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { initSpecRepository } from "../../src/jobs/repository-access.ts";
import type { RunSpec } from "../../src/jobs/run-protocol.ts";
import { bunPath, mainPath } from "../helpers/cli.ts";
import { build, file } from "../helpers/fs-tree.ts";
import { childPids, waitGone } from "../helpers/process-tree.ts";
import { tempDir } from "../helpers/temp.ts";
import { PASSWORD } from "./run-fixture.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "latin1");
  } catch {
    return "";
  }
};

describe("an orphaned run child", () => {
  it("stops when re-parented though its stdin stays open, and releases its lock", async () => {
    const dir = tempDir("backapp-orphan-");
    cleanups.push(() => dir.cleanup());
    const src = join(dir.path, "src");
    build(src, { "big.bin": file(randomBytes(4 * 1024 * 1024)) });
    const address = join(dir.path, "repo");
    const target = { address, s3: {}, password: PASSWORD };
    await (await initSpecRepository(target, { scrypt: { N: 1024, r: 8, p: 1 } })).close();
    const spec: RunSpec = {
      logId: "orphan",
      target,
      sources: [{ path: src, includePatterns: [], excludePatterns: [] }],
      tags: ["job:orphan"],
      full: false,
      compression: "off",
      limitUploadKbps: 32, // 4 MiB at 32 KiB/s: minutes
      retention: null,
      prune: false,
    };
    const specFile = join(dir.path, "spec.json");
    writeFileSync(specFile, `${JSON.stringify(spec)}\n`);
    const script = `(cat "$0"; exec sleep 600) | "$1" "$2" __run`;
    const shell = Bun.spawn(["/bin/sh", "-c", script, specFile, bunPath, mainPath], {
      stdout: "pipe",
      stderr: "inherit",
    });
    const output = new Response(shell.stdout).text();
    let pids: number[] = [];
    cleanups.push(() => {
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // Gone already.
        }
      }
    });
    const locks = join(address, "locks");
    const held = () => (existsSync(locks) ? readdirSync(locks) : []);
    const deadline = Date.now() + 60_000;
    while (held().length === 0 || pids.length < 2) {
      if (Date.now() > deadline) throw new Error("the run did not take its lock");
      pids = childPids(shell.pid);
      await Bun.sleep(50);
    }
    const child = pids.filter((pid) => cmdline(pid).includes("__run"));
    expect(child).toHaveLength(1);
    shell.kill("SIGKILL");
    await shell.exited;
    // stdin is still open (sleep holds it): only being re-parented tells the child.
    await waitGone(child);
    expect(held()).toEqual([]);
    const sleeper = pids.filter((pid) => !child.includes(pid));
    for (const pid of sleeper) process.kill(pid, "SIGKILL");
    const lines = (await output).trim().split("\n");
    expect(lines.some((l) => l.includes('"type":"backed-up"'))).toBe(false);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ type: "failed", kind: "cancelled" });
  }, 120_000);
});
