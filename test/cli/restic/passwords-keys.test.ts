import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runBackapp } from "../../helpers/cli.ts";
import { PASSWORD } from "../upkeep/fixtures.ts";
import { backapp, ok, workspace } from "./fixtures.ts";

describe("passphrase sources", () => {
  it("--password-command, BACKAPP_PASSWORD_FILE and BACKAPP_PASSWORD_COMMAND open the repository", async () => {
    const w = await workspace();
    const file = join(w.dir, "pw");
    writeFileSync(file, `${PASSWORD}\n`);
    const noEnv = { BACKAPP_PASSWORD: undefined };
    const cmd = `printf '%s\\n' '${PASSWORD}'`;
    for (const [args, env] of [
      [["--password-command", cmd], noEnv],
      [[], { ...noEnv, BACKAPP_PASSWORD_FILE: file }],
      [[], { ...noEnv, BACKAPP_PASSWORD_COMMAND: cmd }],
      // A password file wins over BACKAPP_PASSWORD (restic's order).
      [[], { BACKAPP_PASSWORD: "wrong", BACKAPP_PASSWORD_FILE: file }],
    ] as const) {
      const r = await backapp(w.repo, ["snapshots", ...args], { env });
      expect(r.code, `${args.join(" ")} ${JSON.stringify(env)}: ${r.stderr}`).toBe(0);
    }
    const failing = await backapp(w.repo, ["snapshots", "--password-command", "echo no >&2; exit 3"], {
      env: noEnv,
    });
    expect(failing.code).toBe(1);
    expect(failing.stderr).toBe("backapp snapshots: password command exited 3: no\n");
    const both = await backapp(w.repo, ["snapshots", "--password-command", cmd, "--password-file", file]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("use either --password-file or --password-command, not both");
  });

  it("an empty BACKAPP_PASSWORD counts as unset; a missing password file is named as missing", async () => {
    const w = await workspace();
    const empty = await backapp(w.repo, ["snapshots"], { env: { BACKAPP_PASSWORD: "" } });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain("no passphrase given");
    const missing = await backapp(w.repo, ["snapshots", "--password-file", join(w.dir, "nope")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`backapp snapshots: password file ${join(w.dir, "nope")} does not exist\n`);
  });
});

describe("key", () => {
  it("every action prints JSON with --json, and removing the key in use points to key passwd", async () => {
    const w = await workspace();
    const env = { BACKAPP_NEW_PASSWORD: "second passphrase" };
    const add = await backapp(w.repo, ["key", "add", "--json"], { env });
    expect(add.code).toBe(0);
    const { added: id } = JSON.parse(add.stdout) as { added: string };
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const list = JSON.parse(await ok(w.repo, ["key", "list", "--json"])) as {
      id: string;
      current: boolean;
    }[];
    expect(list.map((k) => k.id)).toContain(id);
    const current = list.find((k) => k.current)!.id;
    const inUse = await backapp(w.repo, ["key", "remove", current.slice(0, 8)]);
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toContain('use "backapp key passwd"');
    const removed = await backapp(w.repo, ["key", "remove", id.slice(0, 10), "--json"]);
    expect(JSON.parse(removed.stdout)).toEqual({ removed: id });
    const short = await backapp(w.repo, ["key", "remove", "abc"]);
    expect(short.code).toBe(2);
  });
});

describe("the dispatcher", () => {
  it("no arguments is a usage error; a mistyped command or flag gets a suggestion and a short usage", async () => {
    const none = await runBackapp([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toBe("");
    const typo = await runBackapp(["bakup"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown command "bakup" (did you mean backup?)');
    expect(typo.stderr.split("\n").length).toBeLessThan(4);
    const flag = await runBackapp(["snapshots", "--jsno"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("unknown flag --jsno (did you mean --json?)");
    expect(flag.stderr).toContain('Run "backapp snapshots --help" for every flag.');
    expect(flag.stderr).not.toContain("Repository flags:");
  });
});

describe("-q", () => {
  it("silences a report command's stdout but not its JSON, errors or a listing", async () => {
    const w = await workspace();
    writeFileSync(join(w.dir, "f"), "x");
    const quiet = await backapp(w.repo, ["backup", "-q", join(w.dir, "f")]);
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toBe("");
    const json = await backapp(w.repo, ["backup", "--quiet", "--json", join(w.dir, "f")]);
    expect(json.stdout).toContain('"type":"summary"');
    const list = await backapp(w.repo, ["snapshots", "-q"]);
    expect(list.stdout).toContain("2 snapshots");
    const bad = await backapp(w.repo, ["backup", "-q", join(w.dir, "nope")]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("nothing to back up");
  });
});
