/**
 * The darwin binaries cannot run here: check they are Mach-O executables for the right CPU that
 * carry every embedded view, asset and migration (the build manifest's list) and this build's
 * commit. The release notes name every file with its size and checksum.
 */
import { readFileSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { embeddedFiles, gitCommit } from "../build.ts";
import { releaseNotes } from "../scripts/release.ts";
import { compiledBinary } from "./helpers/binary.ts";

const root = join(import.meta.dirname, "..");
const MH_MAGIC_64 = 0xfeedfacf;
const MH_EXECUTE = 2;
const CPU = { "darwin-x64": 0x01000007, "darwin-arm64": 0x0100000c } as const;

const binaries: Record<string, Buffer> = {};
beforeAll(() => {
  for (const target of Object.keys(CPU)) binaries[target] = readFileSync(compiledBinary(target));
}, 600_000);

describe("darwin binaries", () => {
  const embedded = embeddedFiles(readFileSync(join(root, "src/generated/embedded.ts"), "utf8"));

  it("the manifest lists every view, static asset and migration", () => {
    expect(embedded).toContain("views/layouts/base.eta");
    expect(embedded).toContain("static/app.css");
    expect(embedded).toContain("node_modules/htmx.org/dist/htmx.min.js");
    expect(embedded.filter((f) => f.startsWith("migrations/") && f.endsWith(".sql")).length).toBeGreaterThan(
      0,
    );
  });

  for (const [target, cpu] of Object.entries(CPU)) {
    it(`${target} is a 64-bit Mach-O executable for its CPU with the embedded files and the commit`, () => {
      const bin = binaries[target] as Buffer;
      expect(bin.readUInt32LE(0)).toBe(MH_MAGIC_64);
      expect(bin.readUInt32LE(4)).toBe(cpu);
      expect(bin.readUInt32LE(12)).toBe(MH_EXECUTE);
      const text = bin.toString("latin1");
      // Bun names each embedded file "<name>-<content hash>.<ext>" under its virtual file system.
      const missing = embedded.filter((f) => {
        const ext = extname(f);
        return !new RegExp(
          `/\\$bunfs/root/${basename(f, ext).replace(/[.]/g, "\\.")}-[a-z0-9]+\\${ext}`,
        ).test(text);
      });
      expect(missing).toEqual([]);
      expect(text).toContain(JSON.stringify(gitCommit(root)));
    });
  }
});

describe("release notes", () => {
  it("give version, commit, and each file's size and checksum", () => {
    const notes = releaseNotes(
      { version: "1.2.3", commit: "abc1234567", targets: {}, embedded: ["a", "b"] },
      [
        { name: "backapp-linux-x64", size: 3 * 2 ** 20, sha256: "f".repeat(64) },
        { name: "install.sh", size: 9000, sha256: "e".repeat(64) },
      ],
    );
    expect(notes).toContain("# backapp 1.2.3+abc1234567");
    expect(notes).toContain(`| backapp-linux-x64 | 3.0 MiB | \`${"f".repeat(64)}\` |`);
    expect(notes).toContain("| install.sh | 8.8 KiB |");
    expect(notes).toContain("embedded: 2 files");
  });
});
