/**
 * tuneAllocator restarts the process in place (execve) with mimalloc's purging off: same process
 * id, same arguments, the rest of the environment untouched; an opt-out and a preset value are
 * respected.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const bun = join(root, "node_modules", ".bin", "bun");
const script = `
import { tuneAllocator } from ${JSON.stringify(join(root, "src", "config", "allocator.ts"))};
await tuneAllocator();
console.log(JSON.stringify({
  pid: process.pid,
  purge: process.env.MIMALLOC_PURGE_DELAY ?? null,
  other: process.env.ALLOC_TEST_VALUE ?? null,
  args: process.argv.slice(2),
}));
`;

function run(env: Record<string, string>) {
  const child = Bun.spawnSync([bun, "-e", script, "--", "a b", "ü\u00e9"], {
    env: { ...process.env, ALLOC_TEST_VALUE: "kept=1 2", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(child.exitCode).toBe(0);
  return { pid: child.pid, out: JSON.parse(child.stdout.toString()) as Record<string, unknown> };
}

describe("tuneAllocator", () => {
  it.runIf(process.platform === "linux")("restarts once in place with purging off", () => {
    const { pid, out } = run({});
    expect(out.purge).toBe("-1");
    expect(out.pid).toBe(pid);
    expect(out.other).toBe("kept=1 2");
    // The arguments the script sees are those it sees without the restart.
    expect(out.args).toEqual(run({ BACKAPP_ALLOCATOR: "default" }).out.args);
    expect(out.args).toContain("ü\u00e9");
  });

  it("respects a value already set and the opt-out", () => {
    expect(run({ MIMALLOC_PURGE_DELAY: "10" }).out.purge).toBe("10");
    expect(run({ BACKAPP_ALLOCATOR: "default" }).out.purge).toBe(null);
  });
});
