/**
 * Every test process creates repositories with the pre-calibration scrypt cost (N=2^15, r=8, p=1,
 * ~70 ms) instead of the calibrated half second, so the suite is not slowed by key derivation:
 * in this worker directly, and in CLI runs and child processes through the environment.
 * test/engine/crypto/scrypt-calibration.test.ts unpins it to check calibration itself.
 */
import { LEGACY_SCRYPT, pinScryptParams } from "../../src/engine/crypto/keys.ts";

process.env.BACKAPP_SCRYPT_PARAMS ??= `${LEGACY_SCRYPT.N},${LEGACY_SCRYPT.r},${LEGACY_SCRYPT.p}`;
pinScryptParams(LEGACY_SCRYPT);
