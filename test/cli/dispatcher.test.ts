import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { intFlag, parseFlags, UsageError } from "../../src/cli/args.ts";
import { runCli } from "../../src/cli/index.ts";
import type { CliIo } from "../../src/cli/io.ts";
import { version } from "../../src/util/version.ts";

function captureIo(): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    stdoutStream: new PassThrough(),
    env: {},
    isTTY: false,
  };
}

describe("runCli", () => {
  it("prints help with every command", async () => {
    const io = captureIo();
    expect(await runCli(["--help"], io)).toBe(0);
    expect(io.out.join("")).toContain("Usage: backapp COMMAND");
    expect(io.out.join("")).toContain("serve");
  });
  it("prints the version", async () => {
    const io = captureIo();
    expect(await runCli(["--version"], io)).toBe(0);
    expect(io.out.join("")).toBe(`backapp ${version}\n`);
  });
  it("rejects an unknown command with exit 2", async () => {
    const io = captureIo();
    expect(await runCli(["frobnicate"], io)).toBe(2);
    expect(io.err.join("")).toMatch(/^backapp: unknown command "frobnicate"\n/);
  });
  it("rejects a bad flag with exit 2 and the command's usage", async () => {
    const io = captureIo();
    expect(await runCli(["serve", "--bogus"], io)).toBe(2);
    expect(io.err.join("")).toMatch(/^backapp serve: unknown flag --bogus\n/);
    expect(io.err.join("")).toContain("Usage: backapp serve");
  });
  it("rejects a bad listen address with exit 2", async () => {
    const io = captureIo();
    expect(await runCli(["serve", "--listen", "nope"], io)).toBe(2);
    expect(io.err.join("")).toContain('invalid listen address "nope"');
  });
  it("shows a command's usage on --help", async () => {
    const io = captureIo();
    expect(await runCli(["serve", "--help"], io)).toBe(0);
    expect(io.out.join("")).toContain("--data-dir DIR");
  });
});

describe("parseFlags", () => {
  const specs = {
    name: { type: "string" },
    tag: { type: "string", multiple: true },
    json: { type: "boolean" },
  } as const;
  it("parses strings, repeats and booleans", () => {
    const r = parseFlags(["--name", "x", "--tag", "a", "--tag=b", "--json", "p1", "--", "--p2"], specs);
    expect(r.flags).toEqual({ name: "x", tag: ["a", "b"], json: true });
    expect(r.positionals).toEqual(["p1", "--p2"]);
  });
  it("names a flag missing its value", () => {
    expect(() => parseFlags(["--name"], specs)).toThrow(/--name needs a value/);
  });
  it("names a flag given another flag-like value", () => {
    expect(() => parseFlags(["--name", "-1"], specs)).toThrow(
      /flag --name got a value that looks like a flag/,
    );
    expect(parseFlags(["--name=-1"], specs).flags.name).toBe("-1");
  });
  it("refuses a value for a boolean", () => {
    expect(() => parseFlags(["--json=yes"], specs)).toThrow(UsageError);
  });
  it("intFlag validates range", () => {
    expect(intFlag("n", "12")).toBe(12);
    expect(intFlag("n", undefined)).toBeUndefined();
    expect(() => intFlag("n", "-1")).toThrow(/--n needs a whole number/);
    expect(() => intFlag("n", "101", 0, 100)).toThrow(UsageError);
  });
});
