/**
 * Self-healing through the real CLI on a local repository: a data pack deleted (then another
 * damaged) in the repository → `check` names the snapshots and files affected; `repair index`
 * drops the lost pack; the next backup stores every lost blob again from the source (unchanged
 * files are re-read, not trusted to the index); `check --read-data` passes and every snapshot
 * restores byte for byte again.
 */
import { readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../../helpers/temp.ts";
import { backapp, localRepo, randomBytesSeeded, type TestRepo } from "../upkeep/fixtures.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

/** The largest pack (the one holding file data rather than trees). */
function biggestPack(repo: TestRepo): string {
  const dataDir = join(repo.address, "data");
  const packs = readdirSync(dataDir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
  return packs.sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
}

async function snapshotIds(repo: TestRepo): Promise<string[]> {
  const r = await backapp(repo, ["snapshots", "--json"]);
  return (JSON.parse(r.stdout) as { id: string }[]).map((s) => s.id);
}

async function restoresExactly(repo: TestRepo, id: string, src: string, out: string, files: string[]) {
  const r = await backapp(repo, ["restore", id, "--target", out]);
  expect(r.code, r.stderr).toBe(0);
  for (const f of files)
    expect(readFileSync(join(out, src, f)).equals(readFileSync(join(src, f))), f).toBe(true);
}

describe("self-healing after lost or damaged packs", () => {
  it("check names the files, repair index drops the pack, the next backup brings the data back", async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const repo = localRepo(dir.path);
    const src = join(dir.path, "src");
    const files = ["big.bin", "notes.txt"];
    await import("node:fs").then((fs) => fs.mkdirSync(src));
    writeFileSync(join(src, "big.bin"), randomBytesSeeded(1_500_000, 7));
    writeFileSync(join(src, "notes.txt"), "notes\n".repeat(1000));
    expect((await backapp(repo, ["init"])).code).toBe(0);
    expect((await backapp(repo, ["backup", src])).code).toBe(0);
    writeFileSync(join(src, "later.txt"), "added later\n");
    expect((await backapp(repo, ["backup", src])).code).toBe(0);
    const [first, second] = await snapshotIds(repo);

    // 1. A pack deleted in the repository.
    unlinkSync(biggestPack(repo));
    const check = await backapp(repo, ["check"]);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/pack is in the index but missing/);
    for (const id of [first!, second!]) {
      expect(check.stdout).toContain(
        `damaged: file ${src}/big.bin: snapshot ${id.slice(0, 12)}: data in missing pack`,
      );
    }
    const repair = await backapp(repo, ["repair", "index"]);
    expect(repair.code, repair.stderr).toBe(0);
    expect(repair.stdout).toMatch(/dropped pack [0-9a-f]{12} \(missing\)/);
    const heal = await backapp(repo, ["backup", src]);
    expect(heal.code, heal.stderr).toBe(0);
    const healed = await backapp(repo, ["check", "--read-data"]);
    expect(healed.stdout).toMatch(/no errors were found/);
    for (const [i, id] of [first!, second!].entries()) {
      await restoresExactly(repo, id, src, join(dir.path, `out-${i}`), files);
    }

    // 2. A pack damaged in place (same size, one byte flipped): only reading finds it.
    const pack = biggestPack(repo);
    const bytes = readFileSync(pack);
    bytes[Math.floor(bytes.length / 3)]! ^= 0xff;
    writeFileSync(pack, bytes);
    const read = await backapp(repo, ["check", "--read-data"]);
    expect(read.code).toBe(1);
    expect(read.stdout).toContain(
      `damaged: file ${src}/big.bin: snapshot ${first!.slice(0, 12)}: data in damaged pack`,
    );
    const repair2 = await backapp(repo, ["repair", "index", "--read-data"]);
    expect(repair2.stdout).toMatch(/dropped pack [0-9a-f]{12} \(content does not match its name\)/);
    expect((await backapp(repo, ["backup", src])).code).toBe(0);
    expect((await backapp(repo, ["check", "--read-data"])).stdout).toMatch(/no errors were found/);
    for (const id of await snapshotIds(repo)) {
      await restoresExactly(repo, id, src, join(dir.path, `again-${id}`), files);
    }
  });
});
