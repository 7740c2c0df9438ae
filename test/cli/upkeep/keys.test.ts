import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../../helpers/temp.ts";
import { backapp, localRepo, PASSWORD, type TestRepo } from "./fixtures.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

async function fresh(): Promise<{ repo: TestRepo; dir: string }> {
  const dir = tempDir();
  cleanups.push(dir.cleanup);
  const repo = localRepo(dir.path);
  expect((await backapp(repo, ["init"])).code).toBe(0);
  return { repo, dir: dir.path };
}

interface KeyJson {
  id: string;
  created: string;
  hostname: string;
  username: string;
  current: boolean;
}

async function keys(repo: TestRepo, password = PASSWORD): Promise<KeyJson[]> {
  const r = await backapp(repo, ["key", "list", "--json"], { env: { BACKAPP_PASSWORD: password } });
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout) as KeyJson[];
}

describe("backapp key", () => {
  it("adds a key, and a removed key can no longer open the repository while the others still can", async () => {
    const { repo, dir } = await fresh();
    const first = await keys(repo);
    expect(first).toHaveLength(1);
    expect(first[0]!.current).toBe(true);

    const add = await backapp(repo, ["key", "add"], { env: { BACKAPP_NEW_PASSWORD: "second pass" } });
    expect(add.code).toBe(0);
    expect(add.stdout).toMatch(/^added key [0-9a-f]{8}\n$/);
    const file = join(dir, "third.txt");
    writeFileSync(file, "third pass\n");
    expect((await backapp(repo, ["key", "add", "--new-password-file", file])).code).toBe(0);

    const all = await keys(repo, "second pass");
    expect(all).toHaveLength(3);
    const second = all.find((k) => k.current)!;
    const original = first[0]!;
    const table = await backapp(repo, ["key", "list"]);
    expect(table.stdout).toContain(`*${original.id.slice(0, 8)}`);
    expect(table.stdout.match(/\*/g)).toHaveLength(1);

    // The key in use cannot be removed; another key removes it.
    const self = await backapp(repo, ["key", "remove", original.id.slice(0, 8)]);
    expect(self.code).toBe(1);
    expect(self.stderr).toContain("cannot remove the key in use");
    const removed = await backapp(repo, ["key", "remove", original.id], {
      env: { BACKAPP_PASSWORD: "second pass" },
    });
    expect(removed.code).toBe(0);

    const denied = await backapp(repo, ["snapshots"]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/wrong password/);
    for (const pw of ["second pass", "third pass"]) {
      expect((await backapp(repo, ["snapshots"], { env: { BACKAPP_PASSWORD: pw } })).code).toBe(0);
    }
    expect((await keys(repo, "third pass")).map((k) => k.id)).not.toContain(original.id);
    expect(second.id).not.toBe(original.id);
  });

  it("passwd replaces the key in use", async () => {
    const { repo } = await fresh();
    const r = await backapp(repo, ["key", "passwd"], { env: { BACKAPP_NEW_PASSWORD: "new secret" } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("changed the passphrase");
    expect((await backapp(repo, ["snapshots"])).code).toBe(1);
    const now = await keys(repo, "new secret");
    expect(now).toHaveLength(1);
    expect(now[0]!.current).toBe(true);
  });

  it("passwd: the old passphrase stops working even where it had two keys; other passphrases stay", async () => {
    const { repo } = await fresh();
    const twin = await backapp(repo, ["key", "add"], { env: { BACKAPP_NEW_PASSWORD: PASSWORD } });
    expect(twin.code).toBe(0);
    expect((await backapp(repo, ["key", "add"], { env: { BACKAPP_NEW_PASSWORD: "other" } })).code).toBe(0);
    expect(await keys(repo)).toHaveLength(3);
    const r = await backapp(repo, ["key", "passwd"], { env: { BACKAPP_NEW_PASSWORD: "changed" } });
    expect(r.code).toBe(0);
    const denied = await backapp(repo, ["snapshots"]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toBe("backapp snapshots: wrong password or no key found\n");
    const left = await keys(repo, "changed");
    expect(left).toHaveLength(2);
    expect(left.filter((k) => k.current)).toHaveLength(1);
    expect((await backapp(repo, ["snapshots"], { env: { BACKAPP_PASSWORD: "other" } })).code).toBe(0);
  });

  it("an unencrypted repository has no keys to list, add, remove or change", async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const repo = localRepo(dir.path);
    const env = { BACKAPP_PASSWORD: undefined, BACKAPP_NEW_PASSWORD: "new one" };
    expect((await backapp(repo, ["init", "--insecure-no-encryption"], { env })).code).toBe(0);
    const list = await backapp(repo, ["key", "list"], { env });
    expect(list.stdout).toBe("the repository is not encrypted: it has no keys\n");
    expect((await backapp(repo, ["key", "list", "--json"], { env })).stdout).toBe("[]\n");
    for (const action of [["add"], ["passwd"], ["remove", "0123456789abcdef"]]) {
      const r = await backapp(repo, ["key", ...action], { env });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("an unencrypted repository has no keys");
    }
  });

  it("never takes the new passphrase from a flag value", async () => {
    const { repo } = await fresh();
    const r = await backapp(repo, ["key", "add", "--new-password", "visible in ps"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown flag --new-password");
    expect(await keys(repo)).toHaveLength(1);
  });

  it.each([
    [["key"], 2, "missing action"],
    [["key", "rotate"], 2, 'unknown action "rotate"'],
    [["key", "remove"], 2, "missing KEYID"],
    [["key", "list", "extra"], 2, 'unexpected argument "extra"'],
    [["key", "list", "--new-password-file", "x"], 2, "only applies to add and passwd"],
    [["key", "add"], 1, "no new passphrase given"],
    [["key", "remove", "deadbeefdeadbeef"], 1, "not found"],
    // A malformed key id is a usage error, like a malformed snapshot id.
    [["key", "remove", "deadbee"], 2, "prefix of at least 8 hex characters"],
    [["key", "remove", "../config"], 2, "is not a key id"],
  ])("%j exits %i (%s)", async (args, code, message) => {
    const { repo } = await fresh();
    const r = await backapp(repo, args, { env: { BACKAPP_NEW_PASSWORD: undefined } });
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(message);
  });

  it("reports an unreadable new password file and an empty new passphrase", async () => {
    const { repo, dir } = await fresh();
    const missing = await backapp(repo, ["key", "add", "--new-password-file", join(dir, "nope")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("new password file");
    expect(missing.stderr).toContain("nope does not exist");
    const empty = await backapp(repo, ["key", "add"], { env: { BACKAPP_NEW_PASSWORD: "" } });
    expect(empty.code).toBe(1);
    // An empty variable counts as unset.
    expect(empty.stderr).toContain("no new passphrase given");
  });
});
