import { describe, expect, it } from "vitest";
import {
  defaultDataDir,
  parseListen,
  readRepositoryEnv,
  resolveServerConfig,
} from "../../src/config/index.ts";
import { ValidationError } from "../../src/util/errors.ts";

describe("parseListen", () => {
  it.each([
    ["127.0.0.1:8080", "127.0.0.1", 8080],
    ["0.0.0.0:80", "0.0.0.0", 80],
    [":9000", "127.0.0.1", 9000],
    ["[::1]:8080", "::1", 8080],
    ["localhost:0", "localhost", 0],
  ])("%s", (input, host, port) => {
    expect(parseListen(input)).toEqual({ host, port });
  });
  it.each(["8080", "host:", "host:99999", "a:b:c", "[::1]", ""])("rejects %j", (input) => {
    expect(() => parseListen(input)).toThrow(ValidationError);
  });
});

describe("resolveServerConfig", () => {
  it("uses defaults", () => {
    const c = resolveServerConfig({}, { HOME: "/home/x" });
    expect(c.host).toBe("127.0.0.1");
    expect(c.port).toBe(8080);
    expect(c.logLevel).toBe("info");
    expect(Object.isFrozen(c)).toBe(true);
  });
  it("env beats defaults, flags beat env", () => {
    const env = { BACKAPP_LISTEN: "127.0.0.2:9", BACKAPP_DATA_DIR: "/env", BACKAPP_LOG_LEVEL: "warn" };
    expect(resolveServerConfig({}, env)).toMatchObject({ host: "127.0.0.2", port: 9, dataDir: "/env" });
    expect(resolveServerConfig({ listen: ":1", dataDir: "/flag", logLevel: "debug" }, env)).toMatchObject({
      host: "127.0.0.1",
      port: 1,
      dataDir: "/flag",
      logLevel: "debug",
    });
  });
  it("rejects a bad log level", () => {
    expect(() => resolveServerConfig({ logLevel: "loud" }, {})).toThrow(/invalid log level/);
  });
});

describe("defaultDataDir", () => {
  it("follows XDG on Linux", () => {
    expect(defaultDataDir({ XDG_DATA_HOME: "/xdg" }, "linux", "/home/u")).toBe("/xdg/backapp");
    expect(defaultDataDir({}, "linux", "/home/u")).toBe("/home/u/.local/share/backapp");
    expect(defaultDataDir({ XDG_DATA_HOME: "relative" }, "linux", "/home/u")).toBe(
      "/home/u/.local/share/backapp",
    );
  });
  it("uses Application Support on macOS", () => {
    expect(defaultDataDir({}, "darwin", "/Users/u")).toBe("/Users/u/Library/Application Support/backapp");
  });
});

describe("readRepositoryEnv", () => {
  it("reads the repository and AWS variables", () => {
    const e = readRepositoryEnv({
      BACKAPP_REPO: "s3://b/p",
      BACKAPP_PASSWORD: "pw",
      AWS_ENDPOINT_URL: "http://127.0.0.1:9",
      AWS_REGION: "eu-west-1",
      AWS_ACCESS_KEY_ID: "id",
      AWS_SECRET_ACCESS_KEY: "secret",
    });
    expect(e).toMatchObject({ repo: "s3://b/p", password: "pw" });
    expect(e.s3).toMatchObject({ endpoint: "http://127.0.0.1:9", region: "eu-west-1", accessKeyId: "id" });
  });
  it("treats empty values as unset", () => {
    expect(readRepositoryEnv({ BACKAPP_REPO: "" }).repo).toBeUndefined();
  });
});
