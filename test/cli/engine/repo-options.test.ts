import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { UsageError } from "../../../src/cli/args.ts";
import { parsePercent } from "../../../src/cli/check.ts";
import type { CliIo } from "../../../src/cli/io.ts";
import { nsToIso } from "../../../src/cli/ls.ts";
import { displayTime, table } from "../../../src/cli/repo/format.ts";
import { requirePassword, resolveTarget, takePositionals } from "../../../src/cli/repo/options.ts";
import { createProgressRenderer, fitWidth, statusLine } from "../../../src/cli/repo/progress.ts";
import type { ProgressEvent } from "../../../src/engine/types.ts";
import { ValidationError } from "../../../src/util/errors.ts";
import { tempDir } from "../../helpers/temp.ts";

function io(env: Record<string, string | undefined> = {}, isTTY = false) {
  const out: string[] = [];
  const err: string[] = [];
  const value: CliIo = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    stdoutStream: new PassThrough(),
    env,
    isTTY,
  };
  return { io: value, out, err };
}

const dirs: { cleanup(): void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

describe("resolveTarget", () => {
  it("takes the repository from BACKAPP_REPO and S3 settings from AWS variables", () => {
    const t = resolveTarget(
      {},
      io({
        BACKAPP_REPO: "s3://bucket-a/p",
        BACKAPP_PASSWORD: "pw",
        AWS_ENDPOINT_URL: "http://e:1",
        AWS_REGION: "eu-west-1",
        AWS_ACCESS_KEY_ID: "AK",
        AWS_SECRET_ACCESS_KEY: "SK",
      }).io,
    );
    expect(t.address).toBe("s3://bucket-a/p");
    expect(t.s3).toMatchObject({ endpoint: "http://e:1", region: "eu-west-1", accessKeyId: "AK" });
    expect(t.password?.reveal()).toBe("pw");
    expect(String(t.password)).toBe("[secret]");
  });

  it("lets flags beat the environment", () => {
    const t = resolveTarget(
      { repo: "/r", "s3-endpoint": "http://flag:2", "s3-region": "us-west-2" },
      io({ BACKAPP_REPO: "/env", AWS_ENDPOINT_URL: "http://env:1", AWS_REGION: "eu-west-1" }).io,
    );
    expect(t.address).toBe("/r");
    expect(t.s3.endpoint).toBe("http://flag:2");
    expect(t.s3.region).toBe("us-west-2");
    expect(t.password).toBeNull();
  });

  it("needs a repository (usage error)", () => {
    expect(() => resolveTarget({}, io({}).io)).toThrow(UsageError);
    expect(() => resolveTarget({ repo: " " }, io({}).io)).toThrow(/--repo REPO or set BACKAPP_REPO/);
  });

  it("reads the passphrase file without its trailing newline, before the environment", () => {
    const d = tempDir();
    dirs.push(d);
    const file = join(d.path, "pw");
    writeFileSync(file, "from file\n");
    const t = resolveTarget({ repo: "/r", "password-file": file }, io({ BACKAPP_PASSWORD: "env" }).io);
    expect(t.password?.reveal()).toBe("from file");
    expect(() => resolveTarget({ repo: "/r", "password-file": join(d.path, "nope") }, io().io)).toThrow(
      /password file .*nope does not exist/,
    );
  });

  it("requirePassword explains where a passphrase goes, and refuses an empty one", () => {
    expect(() => requirePassword({ address: "/r", s3: {}, password: null })).toThrow(ValidationError);
    expect(() => requirePassword({ address: "/r", s3: {}, password: null })).toThrow(/BACKAPP_PASSWORD/);
    // An empty variable counts as unset (as the README says of every variable).
    const empty = resolveTarget({ repo: "/r" }, io({ BACKAPP_PASSWORD: "" }).io);
    expect(() => requirePassword(empty)).toThrow(/no passphrase given/);
  });
});

describe("small parsers", () => {
  it("takePositionals names what is missing or extra", () => {
    expect(takePositionals(["a"], ["SNAPSHOT"], ["PATH"])).toEqual(["a"]);
    expect(() => takePositionals([], ["SNAPSHOT", "FILE"])).toThrow(/missing SNAPSHOT and FILE/);
    expect(() => takePositionals(["a", "b", "c"], ["S"], ["P"])).toThrow(/unexpected argument "c"/);
  });

  it("parsePercent accepts 10, 2.5 and 10%, nothing outside (0, 100]", () => {
    expect(parsePercent("10")).toBe(10);
    expect(parsePercent("2.5")).toBe(2.5);
    expect(parsePercent("100%")).toBe(100);
    for (const bad of ["0", "101", "-1", "abc", ""]) expect(() => parsePercent(bad)).toThrow(UsageError);
  });

  it("table aligns columns and displayTime drops the T and fraction", () => {
    expect(table(["A", "Bee"], [["xx", "y"]])).toBe("A   Bee\nxx  y\n");
    expect(displayTime("2026-11-25T21:30:05.123Z")).toBe("2026-11-25 21:30:05");
  });

  it("nsToIso rounds down to the millisecond, also before 1970", () => {
    expect(nsToIso("1577836800987654321")).toBe("2020-01-01T00:00:00.987Z");
    expect(nsToIso("-315619199876543211")).toBe("1960-01-01T00:00:00.123Z");
    expect(nsToIso("-1")).toBe("1969-12-31T23:59:59.999Z");
    expect(nsToIso("-1000000")).toBe("1969-12-31T23:59:59.999Z");
    expect(nsToIso("0")).toBe("1970-01-01T00:00:00.000Z");
  });
});

type ProgressLine = Extract<ProgressEvent, { type: "progress" }>;

const progress = (over: Partial<Extract<ProgressEvent, { type: "progress" }>> = {}): ProgressEvent => ({
  type: "progress",
  files_done: 3,
  files_total: 10,
  bytes_done: 1024 * 1024,
  bytes_total: 4 * 1024 * 1024,
  current: ["/data/file.txt"],
  rate: 2 * 1024 * 1024,
  eta: 65,
  errors: 1,
  elapsed_ms: 42_000,
  ...over,
});

describe("progress renderers", () => {
  it("statusLine shows elapsed, percent, files, bytes, rate, ETA, errors and the current path", () => {
    const line = statusLine(progress() as ProgressLine);
    expect(line).toBe(
      "[42s]  25% 3/10 files  1.00 MiB/4.00 MiB  2.00 MiB/s  ETA 1m05s  1 error  /data/file.txt",
    );
    const unknown = statusLine(
      progress({ eta: null, errors: 0, bytes_total: 0, current: [] }) as ProgressLine,
    );
    expect(unknown).toBe("[42s]  3/10 files  1.00 MiB/0 B  2.00 MiB/s");
  });

  it("statusLine leaves out totals while the scan is still counting", () => {
    expect(statusLine(progress({ current: [] }) as ProgressLine, 200, false)).toBe(
      "[42s]  3 files  1.00 MiB  2.00 MiB/s  1 error",
    );
  });

  it("statusLine shortens the path from the left to fit, keeping the numbers", () => {
    const path = `/very/long/${"directory/".repeat(20)}final-name.txt`;
    const line = statusLine(progress({ current: [path] }) as ProgressLine, 100);
    expect([...line].length).toBe(100);
    expect(line).toContain("ETA 1m05s  1 error  …");
    expect(line.endsWith("/final-name.txt")).toBe(true);
    const narrow = statusLine(progress({ current: [path] }) as ProgressLine, 60);
    expect([...narrow].length).toBe(60);
    expect(narrow).not.toContain("final-name");
    expect(narrow.startsWith("[42s]  25%")).toBe(true);
  });

  it("fitWidth keeps the end of a long line", () => {
    const cut = fitWidth(`start ${"x".repeat(200)} /the/end`, 80);
    expect([...cut].length).toBe(80);
    expect(cut.startsWith("…")).toBe(true);
    expect(cut.endsWith("/the/end")).toBe(true);
    expect(fitWidth("short", 80)).toBe("short");
  });

  it("JSON renderer prints every event as one line, progress at most once per interval", () => {
    let now = 0;
    const { io: out, out: lines } = io();
    const r = createProgressRenderer(out, { json: true, intervalMs: 1000, now: () => now });
    r.onEvent({ type: "start", operation: "backup", time: "t" });
    r.onEvent(progress());
    r.onEvent(progress());
    now = 1500;
    r.onEvent(progress());
    r.onEvent({ type: "error", path: "/x", message: "boom" });
    now = 1600;
    r.onEvent(progress({ files_done: 9 })); // throttled, but the last one: printed by finish()
    r.finish();
    const parsed = lines.map((l) => JSON.parse(l) as { type: string; files_done?: number });
    expect(parsed.map((p) => p.type)).toEqual(["start", "progress", "progress", "error", "progress"]);
    expect(parsed.at(-1)?.files_done).toBe(9);
    expect(lines.every((l) => l.endsWith("\n") && !l.slice(0, -1).includes("\n"))).toBe(true);
  });

  it("TTY renderer redraws one line, prints errors on stderr and clears at the end", () => {
    let now = 0;
    const { io: tty, out, err } = io({ COLUMNS: "60" }, true);
    const r = createProgressRenderer(tty, { json: false, intervalMs: 100, now: () => now });
    r.onEvent({ type: "scan", files_total: 5, bytes_total: 100, done: false });
    r.onEvent(progress());
    r.onEvent({ type: "scan", files_total: 10, bytes_total: 4 * 1024 * 1024, done: true });
    r.onEvent(progress()); // throttled
    now = 200;
    r.onEvent(progress());
    r.onEvent({ type: "error", path: "/bad", message: "unreadable" });
    r.finish();
    const lines = out.filter((t) => t.startsWith("[42s]"));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\[42s\] {2}3 files {2}1.00 MiB/);
    expect(lines[1]).toMatch(/^\[42s\] {2}25% 3\/10 files/);
    expect(out.at(-1)).toBe("\r\x1b[K");
    expect(err).toEqual(["error: /bad: unreadable\n"]);
    expect(lines.every((t) => [...t].length <= 59)).toBe(true);
  });

  it("a -v line clears the TTY status line first and is whole; plain and JSON renderers print it as is", () => {
    const { io: tty, out } = io({ COLUMNS: "60" }, true);
    const r = createProgressRenderer(tty, { json: false, intervalMs: 100, now: () => 0 });
    r.onEvent(progress());
    r.line("new      /data/a.txt (3 B)");
    expect(out.slice(-2)).toEqual(["\r\x1b[K", "new      /data/a.txt (3 B)\n"]);
    r.finish();
    expect(out.at(-1)).toBe("new      /data/a.txt (3 B)\n"); // nothing drawn since: nothing to clear
    for (const json of [false, true]) {
      const { io: pipe, out: piped } = io();
      createProgressRenderer(pipe, { json }).line("x");
      expect(piped).toEqual(["x\n"]);
    }
  });

  it("plain renderer prints only errors", () => {
    const { io: plain, out, err } = io();
    const r = createProgressRenderer(plain, { json: false });
    r.onEvent(progress());
    r.onEvent({ type: "error", path: "/p", message: "m" });
    r.finish();
    expect(out).toEqual([]);
    expect(err).toEqual(["error: /p: m\n"]);
  });
});
