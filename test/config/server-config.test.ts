/** Server settings from flags and environment: empty values, relative paths, home fallbacks, error names. */
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultDataDir, parseListen, resolveDataDir, resolveServerConfig } from "../../src/config/index.ts";

describe("listen forms", () => {
  it.each([
    [":8080", "127.0.0.1", 8080],
    ["0.0.0.0:0", "0.0.0.0", 0],
    ["[::]:8080", "::", 8080],
    ["[::1]:65535", "::1", 65535],
    [" 127.0.0.1:80 ", "127.0.0.1", 80],
    ["backup.example.com:443", "backup.example.com", 443],
  ])("%j", (input, host, port) => {
    expect(parseListen(input)).toEqual({ host, port });
  });
  it.each([
    "127.0.0.1:65536",
    "127.0.0.1:-1",
    "::1:8080",
    "host name:80",
    "a/b:80",
    "[::1]x:80",
    "127.0.0.1",
  ])("rejects %j naming the expected form", (input) => {
    expect(() => parseListen(input)).toThrow(/expected HOST:PORT with a port from 0 to 65535/);
  });
});

describe("environment", () => {
  it("treats empty variables as unset", () => {
    const c = resolveServerConfig(
      {},
      { HOME: "/home/x", BACKAPP_LISTEN: "", BACKAPP_DATA_DIR: " ", BACKAPP_LOG_LEVEL: "" },
    );
    expect(c).toMatchObject({
      host: "127.0.0.1",
      port: 8080,
      logLevel: "info",
      dataDir: "/home/x/.local/share/backapp",
    });
  });

  it("names the variable a bad value came from; a flag overrides a bad variable", () => {
    expect(() => resolveServerConfig({}, { BACKAPP_LISTEN: "x" })).toThrow(
      /^BACKAPP_LISTEN: invalid listen address "x"/,
    );
    expect(() => resolveServerConfig({}, { BACKAPP_LOG_LEVEL: "x", HOME: "/h" })).toThrow(
      /^BACKAPP_LOG_LEVEL: /,
    );
    expect(() => resolveServerConfig({ listen: "x" }, {})).toThrow(/^invalid listen address "x"/);
    expect(resolveServerConfig({ listen: "127.0.0.1:1" }, { BACKAPP_LISTEN: "x", HOME: "/h" }).port).toBe(1);
  });

  it("makes the data dir absolute (flag and variable alike)", () => {
    expect(resolveDataDir("rel/dir", {})).toBe(resolve("rel/dir"));
    expect(resolveDataDir(undefined, { BACKAPP_DATA_DIR: "rel" })).toBe(resolve("rel"));
    expect(resolveDataDir(undefined, { BACKAPP_DATA_DIR: "/abs/d" })).toBe("/abs/d");
    expect(() => resolveDataDir("", {})).toThrow(/--data-dir needs a directory/);
  });

  it("uses XDG_DATA_HOME, then $HOME/.local/share, then the account's home when HOME is unset or relative", () => {
    expect(resolveDataDir(undefined, { XDG_DATA_HOME: "/xdg", HOME: "/h" })).toBe("/xdg/backapp");
    expect(resolveDataDir(undefined, { XDG_DATA_HOME: "", HOME: "/h" })).toBe("/h/.local/share/backapp");
    const fallback = join(homedir(), ".local", "share", "backapp");
    expect(defaultDataDir({}, "linux")).toBe(fallback);
    expect(defaultDataDir({ HOME: "" }, "linux")).toBe(fallback);
    expect(defaultDataDir({ HOME: "relative/home" }, "linux")).toBe(fallback);
    expect(defaultDataDir({ HOME: "/Users/u" }, "darwin")).toBe(
      "/Users/u/Library/Application Support/backapp",
    );
  });
});
