import { lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { randomBytesSeeded } from "../upkeep/fixtures.ts";
import { ok, REPO_KINDS, sh, workspaces, writeFiles } from "./fixtures.ts";

const workspaceOn = workspaces();

describe.each(REPO_KINDS)("dump of a folder (%s)", (kind) => {
  it("writes a tar that tar(1) extracts byte for byte, awkward names and long paths included", async () => {
    const w = await workspaceOn(kind);
    const long = `${"long-folder-name-".repeat(8)}/${"x".repeat(120)}.bin`;
    const big = randomBytesSeeded(3 * 1024 * 1024 + 7, 5);
    writeFiles(w.src, {
      "caf\u00e9 😀.txt": "unicode",
      "new\nline": "nl",
      [long]: "deep and long",
      "big.bin": big,
      empty: "",
    });
    mkdirSync(join(w.src, "empty dir"));
    symlinkSync("caf\u00e9 😀.txt", join(w.src, "link"));
    writeFileSync(join(w.src, "mode.sh"), "#!/bin/sh\n", { mode: 0o750 });
    await ok(w.repo, ["backup", w.src]);
    const tarFile = join(w.dir, "out.tar");
    // Through a real process and the shell, so the bytes are exactly what stdout carried.
    const out = join(w.dir, "x");
    mkdirSync(out);
    const r = await sh(`"$0" "$1" dump latest "$SRC" > "$OUT" && tar -xf "$OUT" -C "$X"`, w.repo, {
      SRC: w.src,
      OUT: tarFile,
      X: out,
    });
    expect(r.code, r.stderr).toBe(0);
    const got = join(out, w.src.slice(1));
    expect(readFileSync(join(got, "caf\u00e9 😀.txt"), "utf8")).toBe("unicode");
    expect(readFileSync(join(got, "new\nline"), "utf8")).toBe("nl");
    expect(readFileSync(join(got, long), "utf8")).toBe("deep and long");
    expect(Buffer.compare(readFileSync(join(got, "big.bin")), Buffer.from(big))).toBe(0);
    expect(readFileSync(join(got, "empty"), "utf8")).toBe("");
    expect(lstatSync(join(got, "empty dir")).isDirectory()).toBe(true);
    expect(readlinkSync(join(got, "link"))).toBe("caf\u00e9 😀.txt");
    expect(lstatSync(join(got, "mode.sh")).mode & 0o777).toBe(0o750);
    expect(lstatSync(join(got, "big.bin")).mtimeMs).toBe(lstatSync(join(w.src, "big.bin")).mtimeMs);
  });
});
