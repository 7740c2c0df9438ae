import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bunPath, mainPath } from "../../helpers/cli.ts";
import { backapp, ok, workspace } from "./fixtures.ts";

/** Peak resident memory (VmHWM, KiB) of a running process, or 0 once it is gone. */
function peakKiB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

describe("backup --stdin", () => {
  it("stores 1 GiB from a pipe as /NAME in bounded memory; dump gives it back byte for byte", async () => {
    const w = await workspace();
    const GiB = 1024 * 1024 * 1024;
    // 1 GiB of random bytes through a pipe (no dedup shortcut); a FIFO hands a copy to sha256sum.
    const fifo = join(w.dir, "fifo");
    const sumFile = join(w.dir, "sum");
    execFileSync("mkfifo", [fifo]);
    const proc = Bun.spawn(
      [
        "/bin/sh",
        "-c",
        `sha256sum < "${fifo}" > "${sumFile}" & head -c ${GiB} /dev/urandom | tee "${fifo}" | "$0" "$1" backup --stdin --stdin-filename db.sql --tag dump --json; s=$?; wait; exit $s`,
        bunPath,
        mainPath,
      ],
      { env: { ...process.env, ...w.repo.env }, stdout: "pipe", stderr: "pipe" },
    );
    // Sample the peak of every process below the shell (backapp is the largest by far).
    let peak = 0;
    const sample = () => {
      const kids = execFileSync("/bin/sh", ["-c", `pgrep -P ${proc.pid} || true`])
        .toString()
        .trim()
        .split("\n");
      for (const k of kids) if (k) peak = Math.max(peak, peakKiB(Number(k)));
    };
    const timer = setInterval(sample, 200);
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    clearInterval(timer);
    expect(code, err).toBe(0);
    const summary = JSON.parse(out.trim().split("\n").at(-1)!) as {
      type: string;
      bytes_processed: number;
      snapshot_id: string;
    };
    expect(summary).toMatchObject({ type: "summary", bytes_processed: GiB });
    // Bounded: far below the 1 GiB that went through (runtime + packs in flight + chunk buffers).
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThan(600 * 1024);
    const snaps = JSON.parse(await ok(w.repo, ["snapshots", "--json"])) as {
      paths: string[];
      tags: string[];
    }[];
    expect(snaps[0]).toMatchObject({ paths: ["/db.sql"], tags: ["dump"] });
    const back = execFileSync(
      "/bin/sh",
      ["-c", `"$0" "$1" dump latest /db.sql | sha256sum`, bunPath, mainPath],
      {
        env: { ...process.env, ...w.repo.env },
        maxBuffer: 1024,
      },
    );
    expect(back.toString().split(" ")[0]).toBe(readFileSync(sumFile, "utf8").split(" ")[0]);
    console.log(`backup --stdin of 1 GiB: peak RSS ${Math.round(peak / 1024)} MiB`);
  }, 600_000);

  it("a small stream round-trips through restore; PATH with --stdin is a usage error", async () => {
    const w = await workspace();
    const r = await backapp(w.repo, ["backup", "--stdin", w.src]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--stdin backs up standard input: give no PATH");
    execFileSync("/bin/sh", ["-c", `printf 'hello\\n' | "$0" "$1" backup --stdin`, bunPath, mainPath], {
      env: { ...process.env, ...w.repo.env },
    });
    const out = join(w.dir, "out");
    await ok(w.repo, ["restore", "latest", "--target", out]);
    expect(readFileSync(join(out, "stdin"), "utf8")).toBe("hello\n");
    expect((await backapp(w.repo, ["check", "--read-data"])).code).toBe(0);
  });
});
