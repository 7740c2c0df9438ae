/** The dispatcher's edges: help topics, global flags, and serve's flag and environment errors. */
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/index.ts";
import type { CliIo } from "../../src/cli/io.ts";

function run(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    stdoutStream: new PassThrough(),
    env,
    isTTY: false,
  };
  return runCli(argv, io).then((code) => ({ code, out: out.join(""), err: err.join("") }));
}

describe("help", () => {
  it("`help COMMAND` prints that command's usage; `help` alone the overview", async () => {
    const serve = await run(["help", "serve"]);
    expect(serve.code).toBe(0);
    expect(serve.out).toMatch(/^Usage: backapp serve \[--listen HOST:PORT\]/);
    const all = await run(["help"]);
    expect(all.out).toContain("Commands:");
    // No command at all is a usage error: the overview goes to stderr, exit 2.
    const none = await run([]);
    expect(none.code).toBe(2);
    expect(none.err).toBe(all.out);
  });

  it("`help UNKNOWN` is a usage error, not a success", async () => {
    const r = await run(["help", "frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^backapp: unknown command "frobnicate"\nUsage: backapp COMMAND/);
    expect(r.out).toBe("");
  });

  it("--help after `--` is an operand, not a request for help", async () => {
    const r = await run(["serve", "--", "--help"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unexpected argument "--help"');
  });
});

describe("global flags", () => {
  it("an unknown flag before the command is named as a flag, with the usage, exit 2", async () => {
    for (const flag of ["--bogus", "--bogus=1", "-x"]) {
      const r = await run([flag, "serve"]);
      expect(r.code, flag).toBe(2);
      expect(r.err.split("\n")[0], flag).toBe(
        `backapp: unknown flag ${flag.split("=")[0]} (flags go after the command)`,
      );
      expect(r.err, flag).toContain("Usage: backapp COMMAND");
    }
  });

  it("-V and version print the version like --version", async () => {
    const a = await run(["--version"]);
    expect((await run(["-V"])).out).toBe(a.out);
    expect((await run(["version"])).out).toBe(a.out);
    expect(a.out).toMatch(/^backapp \d+\.\d+\.\d+\+\S+\n$/);
  });
});

describe("serve flag and environment errors (exit 2, one line, then usage)", () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [["--listen"], {}, /flag --listen needs a value/],
    [["--listen=127.0.0.1:70000"], {}, /invalid listen address "127\.0\.0\.1:70000": expected HOST:PORT/],
    [["--listen", "[::1]"], {}, /invalid listen address "\[::1\]"/],
    [["--listen", "host name:80"], {}, /invalid listen address "host name:80"/],
    [["--log-level", "loud"], {}, /invalid log level "loud"/],
    [["--data-dir="], {}, /--data-dir needs a directory/],
    [[], { BACKAPP_LISTEN: "nope" }, /^backapp serve: BACKAPP_LISTEN: invalid listen address "nope"/],
    [[], { BACKAPP_LOG_LEVEL: "loud" }, /^backapp serve: BACKAPP_LOG_LEVEL: invalid log level "loud"/],
    [["extra"], {}, /unexpected argument "extra"/],
  ];
  for (const [argv, env, message] of cases) {
    it(`serve ${argv.join(" ")} ${JSON.stringify(env)}`, async () => {
      const r = await run(["serve", ...argv], env);
      expect(r.code).toBe(2);
      expect(r.err.split("\n")[0]).toMatch(message);
      // The short usage, not every flag: the Usage line and where the rest is.
      expect(r.err.split("\n")[1]).toMatch(/^Usage: backapp serve/);
      expect(r.err).toContain('Run "backapp serve --help" for every flag.');
    });
  }
});

describe("fatal errors", () => {
  it("print one line without a failed query's bound values", async () => {
    const { DrizzleQueryError } = await import("drizzle-orm/errors");
    const { commands } = await import("../../src/cli/commands.ts");
    const entry = commands.find((c) => c.name === "setup-token")!;
    const original = entry.load;
    (entry as { load: typeof entry.load }).load = async () => ({
      ...(await original()),
      run: async () => {
        throw new DrizzleQueryError("select 1 where x = ?", ["hash-of-a-secret"], new Error("boom"));
      },
    });
    try {
      const r = await run(["setup-token"], { BACKAPP_DEBUG: "1" });
      expect(r.code).toBe(1);
      expect(r.err).toMatch(
        /^backapp setup-token: Failed query: select 1 where x = \?\nparams: \[redacted\]\n/,
      );
      expect(r.err).not.toContain("hash-of-a-secret");
    } finally {
      (entry as { load: typeof entry.load }).load = original;
    }
  });
});
