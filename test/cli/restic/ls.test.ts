import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { backapp, ok, workspace, writeFiles } from "./fixtures.ts";

describe("ls shows what ls -l shows", () => {
  it("keeps the setuid, setgid and sticky bits and marks times as UTC", async () => {
    const w = await workspace();
    writeFiles(w.src, { "suid.bin": "x", "sgid-noexec.txt": "y" });
    mkdirSync(join(w.src, "tmp"));
    chmodSync(join(w.src, "tmp"), 0o1777);
    chmodSync(join(w.src, "suid.bin"), 0o4755);
    chmodSync(join(w.src, "sgid-noexec.txt"), 0o2640);
    await ok(w.repo, ["backup", w.src]);
    const out = await ok(w.repo, ["ls", "latest", w.src]);
    const line = (name: string) => out.split("\n").find((l) => l.endsWith(`/${name}`)) ?? "";
    expect(line("tmp")).toMatch(/^drwxrwxrwt /);
    expect(line("suid.bin")).toMatch(/^-rwsr-xr-x /);
    expect(line("sgid-noexec.txt")).toMatch(/^-rw-r-S--- /);
    expect(line("suid.bin")).toMatch(/ \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC {2}\//);
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

  it("--host and --tag choose which snapshot latest means", async () => {
    const w = await workspace();
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
