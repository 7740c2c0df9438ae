import { describe, expect, it } from "vitest";
import {
  backapp,
  expectLsLongModes,
  ok,
  REPO_KINDS,
  workspace,
  workspaces,
  writeFiles,
  writeSpecialModes,
} from "./fixtures.ts";

const workspaceOn = workspaces();

describe("ls shows what ls -l shows", () => {
  it("keeps the setuid, setgid and sticky bits and marks times as UTC", async () => {
    const w = await workspace();
    writeSpecialModes(w.src);
    await ok(w.repo, ["backup", w.src]);
    expectLsLongModes(await ok(w.repo, ["ls", "latest", w.src]));
    const json = JSON.parse(await ok(w.repo, ["ls", "latest", w.src, "--json"])) as {
      path: string;
      mode: number;
    }[];
    expect(json.find((e) => e.path.endsWith("/tmp"))?.mode).toBe(0o1777);
  });

  it("a path that is not in the snapshot names its roots and says paths are absolute", async () => {
    const w = await workspace();
    writeFiles(w.src, { "a.txt": "a" });
    await ok(w.repo, ["backup", w.src]);
    for (const cmd of [
      ["ls", "latest", "a.txt"],
      ["dump", "latest", "a.txt"],
    ]) {
      const r = await backapp(w.repo, cmd);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("paths in a snapshot are absolute, as backed up");
      expect(r.stderr).toContain(`it holds ${w.src}`);
    }
  });
});

describe.each(REPO_KINDS)("ls latest with filters (%s)", (kind) => {
  it("--host and --tag choose which snapshot latest means", async () => {
    const w = await workspaceOn(kind);
    writeFiles(w.src, { "old.txt": "a" });
    await ok(w.repo, ["backup", "--tag", "keep", "--host", "h1", w.src]);
    writeFiles(w.src, { "new.txt": "b" });
    await ok(w.repo, ["backup", "--host", "h2", w.src]);
    const tagged = await ok(w.repo, ["ls", "latest", w.src, "--tag", "keep"]);
    expect(tagged).toContain("old.txt");
    expect(tagged).not.toContain("new.txt");
    expect(await ok(w.repo, ["ls", "latest", w.src, "--host", "h2"])).toContain("new.txt");
    const none = await backapp(w.repo, ["ls", "latest", "--host", "nope"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("no snapshot matches");
  });
});
