/**
 * init, snapshots and check on an empty repository, on a local folder and on s3rver, plus the
 * errors every repository command shares (no repository, no passphrase, wrong passphrase).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBackapp } from "../../helpers/cli.ts";
import { startS3rver, type TestS3 } from "../../helpers/s3rver.ts";
import { tempDir } from "../../helpers/temp.ts";
import { backapp, localRepo, s3Repo, type TestRepo } from "./fixtures.ts";

let s3: TestS3;
const dir = tempDir("backapp-cli-init-");
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3.stop();
  dir.cleanup();
});

const kinds: ["local" | "s3", () => TestRepo][] = [
  ["local", () => localRepo(join(dir.path, `l${Math.random().toString(16).slice(2)}`))],
  ["s3", () => s3Repo(s3)],
];

describe.each(kinds)("on %s", (_kind, make) => {
  it("init creates an encrypted repository that snapshots and check accept", async () => {
    const repo = make();
    const init = await backapp(repo, ["init"]);
    expect(init.stderr).toBe("");
    expect(init.code).toBe(0);
    expect(init.stdout).toMatch(/^created encrypted repository [0-9a-f]{8} at /);
    const again = await backapp(repo, ["init"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe("backapp init: repository already initialized\n");

    const list = await backapp(repo, ["snapshots", "--json"]);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([]);
    const table = await backapp(repo, ["snapshots"]);
    expect(table.stdout).toContain("0 snapshots");

    const check = await backapp(repo, ["check", "--read-data"]);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain("no errors were found");
  });

  it("a wrong passphrase is a one-line error with exit 1", async () => {
    const repo = make();
    expect((await backapp(repo, ["init"])).code).toBe(0);
    const r = await backapp(repo, ["snapshots"], { env: { BACKAPP_PASSWORD: "not the passphrase" } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("backapp snapshots: wrong password or no key found\n");
  });
});

describe("shared repository errors", () => {
  it("no repository named is a usage error (exit 2)", async () => {
    const r = await runBackapp(["snapshots"], { env: { BACKAPP_REPO: undefined } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^backapp snapshots: no repository given: use --repo REPO or set BACKAPP_REPO\n/,
    );
  });

  it("a missing passphrase is a clear error (exit 1), also for init", async () => {
    const repo = localRepo(join(dir.path, "nopw"));
    const env = { BACKAPP_PASSWORD: undefined };
    const init = await backapp(repo, ["init"], { env });
    expect(init.code).toBe(1);
    expect(init.stderr).toBe(
      "backapp init: no passphrase given: set BACKAPP_PASSWORD, or use --password-file FILE or --password-command CMD\n",
    );
    expect((await backapp(repo, ["init"])).code).toBe(0);
    const list = await backapp(repo, ["snapshots"], { env });
    expect(list.code).toBe(1);
    expect(list.stderr).toContain("no passphrase given");
  });

  it("--password-file replaces BACKAPP_PASSWORD; --repo replaces BACKAPP_REPO", async () => {
    const repo = localRepo(join(dir.path, "pwfile"));
    const file = join(dir.path, "pw.txt");
    writeFileSync(file, "from a file\n");
    const env = { BACKAPP_PASSWORD: undefined, BACKAPP_REPO: undefined };
    const args = ["--repo", repo.address, "--password-file", file];
    expect((await backapp(repo, ["init", ...args], { env })).code).toBe(0);
    expect((await backapp(repo, ["snapshots", ...args], { env })).code).toBe(0);
    const wrong = await backapp(repo, ["snapshots", "--repo", repo.address], {
      env: { BACKAPP_PASSWORD: "from a file\n" },
    });
    expect(wrong.code).toBe(1);
    // An empty password file (or one holding just a newline) is named as such, not "wrong password".
    for (const content of ["", "\n"]) {
      writeFileSync(file, content);
      const empty = await backapp(repo, ["snapshots", ...args], { env });
      expect(empty).toMatchObject({
        code: 1,
        stdout: "",
        stderr: `backapp snapshots: the passphrase is empty (password file ${file})\n`,
      });
    }
  });

  it("an unencrypted repository needs no passphrase", async () => {
    const repo = localRepo(join(dir.path, "plain"));
    const env = { BACKAPP_PASSWORD: undefined };
    const init = await backapp(repo, ["init", "--insecure-no-encryption"], { env });
    expect(init.code).toBe(0);
    expect(init.stdout).toMatch(/^created UNENCRYPTED repository/);
    expect((await backapp(repo, ["check"], { env })).code).toBe(0);
  });

  it("a folder with no repository is a one-line error", async () => {
    const r = await runBackapp(["snapshots", "--repo", join(dir.path, "none")], {
      env: { BACKAPP_PASSWORD: "x" },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^backapp snapshots: no repository at .*none\n$/);
  });

  it.each<[string[], RegExp]>([
    [["init", "extra"], /unexpected argument "extra"/],
    [["snapshots", "--bogus"], /unknown flag --bogus/],
    [["check", "--read-data", "--read-data-subset", "5"], /either --read-data or --read-data-subset/],
    [["check", "--read-data-subset", "0"], /percentage above 0/],
    ...["abc", "-5", "101", "", "5%%", "1e2", "NaN", "0%"].map((v): [string[], RegExp] => [
      ["check", `--read-data-subset=${v}`],
      /flag --read-data-subset needs a percentage/,
    ]),
    [["check", "--read-data-subset"], /flag --read-data-subset needs a value/],
    [["ls", "abcdef1"], /snapshot id prefix "abcdef1" is too short/],
    [["diff", "latest", "not-hex!"], /"not-hex!" is not a snapshot id/],
    [["restore", "latest"], /missing --target DIR/],
    [["dump", "latest"], /missing FILE/],
    [["check", "--repo"], /flag --repo needs a value/],
  ])("usage error %j exits 2", async (args, message) => {
    const r = await runBackapp(args, { env: { BACKAPP_REPO: "/nonexistent", BACKAPP_PASSWORD: "x" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain("Usage: backapp");
  });
});
