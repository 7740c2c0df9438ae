import { spawnSync } from "node:child_process";
import { lstatSync, mkdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { padding, tarEnd, tarHeader } from "../../../src/engine/browse/tar.ts";
import { tempDir } from "../../helpers/temp.ts";

const tmp = tempDir("backapp-tar-");
afterAll(() => tmp.cleanup());

function run(args: string[], input: Buffer) {
  return spawnSync("tar", args, { input, maxBuffer: 1 << 26 });
}

const base = { mode: 0o640, uid: 1000, gid: 1000, size: 0 };

describe("tarHeader", () => {
  it("writes sizes of 8 GiB and more, large ids and pre-1970 and sub-second times in pax records", () => {
    const huge = tarHeader({
      ...base,
      path: Buffer.from("huge.bin"),
      type: "file",
      size: 9 * 2 ** 30,
      uid: 3_000_000,
      gid: 2 ** 31,
      mtime: "-1500000000",
    });
    // Only the header: GNU tar lists the entry before it misses the data.
    const r = run(["-t", "-v", "--numeric-owner", "--full-time", "-f", "-"], huge);
    const line = r.stdout.toString();
    expect(line).toContain(String(9 * 2 ** 30));
    expect(line).toContain("3000000/2147483648");
    // GNU tar writes -1.5 s the same way (and lists it oddly as 23:59:59.5); extraction is exact.
    expect(huge.toString("latin1")).toContain("22 mtime=-1.500000000\n");
    const old = tarHeader({ ...base, path: Buffer.from("old"), type: "file", mtime: "-1500000000" });
    const dir = join(tmp.path, "old");
    mkdirSync(dir);
    expect(run(["-x", "-f", "-", "-C", dir], Buffer.concat([old, tarEnd()])).status).toBe(0);
    expect(lstatSync(join(dir, "old"), { bigint: true }).mtimeNs).toBe(-1500000000n);
  });

  it("round-trips names and link targets of any length and bytes through GNU tar", () => {
    const dir = join(tmp.path, "x");
    mkdirSync(dir, { recursive: true });
    const longName = Buffer.from(`${"d".repeat(200)}/${"é".repeat(80)}.txt`);
    const rawLong = Buffer.concat([Buffer.from("r".repeat(120)), Buffer.from([0xff, 0xfe])]);
    const target = Buffer.from(`/t/${"ü".repeat(70)}`);
    const parts = [
      tarHeader({
        ...base,
        path: Buffer.from("d".repeat(200)),
        type: "dir",
        mode: 0o755,
        mtime: "1600000000123456789",
      }),
      tarHeader({ ...base, path: longName, type: "file", size: 3, mtime: "1600000000000000000" }),
      Buffer.from("abc"),
      Buffer.alloc(padding(3)),
      tarHeader({ ...base, path: rawLong, type: "file", mtime: "0" }),
      tarHeader({ ...base, path: Buffer.from("link"), type: "symlink", mode: 0o777, mtime: "0", target }),
      tarEnd(),
    ];
    const r = run(["-x", "-p", "-f", "-", "-C", dir], Buffer.concat(parts));
    expect({ status: r.status, stderr: r.stderr.toString() }).toEqual({ status: 0, stderr: "" });
    expect(readFileSync(join(dir, longName.toString())).toString()).toBe("abc");
    expect(lstatSync(Buffer.concat([Buffer.from(`${dir}/`), rawLong])).isFile()).toBe(true);
    expect(readlinkSync(join(dir, "link"))).toBe(target.toString());
    const st = lstatSync(join(dir, "d".repeat(200)), { bigint: true });
    expect(st.mtimeNs).toBe(1600000000123456789n);
    expect(Number(st.mode) & 0o777).toBe(0o755);
  });
});
