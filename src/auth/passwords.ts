/**
 * Password hashing with Argon2id (Bun.password, native). Verification of an unknown account runs
 * against a fixed dummy hash so a failed login takes as long whether or not the account exists.
 */
const OPTIONS = { algorithm: "argon2id", memoryCost: 19456, timeCost: 2 } as const;

let dummyHash: Promise<string> | null = null;

export function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(password, OPTIONS);
}

/** False for a wrong password or a malformed hash; never throws. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  try {
    return await Bun.password.verify(password, hash);
  } catch {
    return false;
  }
}

/** Spends the same time as a real verification, for accounts that don't exist. */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword("backapp-dummy-password-for-timing");
  await verifyPassword(password, await dummyHash);
  return false;
}
