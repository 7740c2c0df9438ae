/**
 * New keys get scrypt parameters calibrated on this machine: 32 MiB (N=2^15, r=8; OWASP's floor in
 * its 32 MiB form, p ≥ 3) and p raised towards half a second; computed once per process. Keys already written keep their
 * parameters when opened; `key passwd` writes its new key with the calibrated ones; parameters
 * pinned through BACKAPP_SCRYPT_PARAMS (as the test setup does) are checked like a reader's.
 * No timing is asserted: only the parameters chosen.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  FLOOR_SCRYPT,
  LEGACY_SCRYPT,
  newKeyScryptParams,
  pinScryptParams,
} from "../../../src/engine/crypto/keys.ts";
import { IntegrityError } from "../../../src/util/errors.ts";
import { backapp, localRepo } from "../../cli/upkeep/fixtures.ts";
import { tempDir } from "../../helpers/temp.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  pinScryptParams(LEGACY_SCRYPT);
  while (cleanups.length > 0) cleanups.pop()!();
});

function keyParams(repoDir: string): { N: number; r: number; p: number }[] {
  const dir = join(repoDir, "keys");
  return readdirSync(dir).map((f) => {
    const k = JSON.parse(readFileSync(join(dir, f), "utf8")) as { N: number; r: number; p: number };
    return { N: k.N, r: k.r, p: k.p };
  });
}

describe("scrypt calibration", () => {
  it("holds memory at 32 MiB (N=2^15, r=8), raises only p (from 3), and calibrates once per process", () => {
    pinScryptParams(undefined);
    const params = newKeyScryptParams();
    expect(params.N).toBe(FLOOR_SCRYPT.N);
    expect(params.r).toBe(FLOOR_SCRYPT.r);
    expect(128 * params.N * params.r).toBe(32 * 1024 * 1024);
    expect(params.p).toBeGreaterThanOrEqual(3);
    expect(params.p).toBeLessThanOrEqual(16);
    expect(newKeyScryptParams()).toBe(params);
  });

  it("keeps an existing key's parameters on open, and key passwd upgrades it to the calibrated ones", async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const repo = localRepo(dir.path);
    expect((await backapp(repo, ["init"])).code).toBe(0);
    expect(keyParams(repo.address)).toEqual([LEGACY_SCRYPT]);
    const unpinned = { BACKAPP_SCRYPT_PARAMS: undefined };
    expect((await backapp(repo, ["snapshots"], { env: unpinned })).code).toBe(0);
    expect(keyParams(repo.address)).toEqual([LEGACY_SCRYPT]);

    const passwd = await backapp(repo, ["key", "passwd"], {
      env: { ...unpinned, BACKAPP_NEW_PASSWORD: "a new passphrase" },
    });
    expect(passwd.code).toBe(0);
    pinScryptParams(undefined);
    expect(keyParams(repo.address)).toEqual([newKeyScryptParams()]);
    const open = await backapp(repo, ["snapshots"], { env: { BACKAPP_PASSWORD: "a new passphrase" } });
    expect(open.code).toBe(0);
  });

  it("refuses absurd pinned parameters, from the environment or in code", async () => {
    expect(() => pinScryptParams({ N: 2 ** 40, r: 8, p: 1 })).toThrow(IntegrityError);
    expect(() => pinScryptParams({ N: 3, r: 8, p: 1 })).toThrow(IntegrityError);
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const repo = localRepo(dir.path);
    for (const bad of ["1024,8", "2^17,8,1", "16777216,64,1"]) {
      const r = await backapp(repo, ["init"], { env: { BACKAPP_SCRYPT_PARAMS: bad } });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/BACKAPP_SCRYPT_PARAMS|unsupported scrypt parameters/);
    }
  });
});
