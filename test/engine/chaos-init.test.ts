/**
 * `init` killed between writing its key object and its config leaves a key and no repository;
 * running `init` again with the same passphrase must give a repository that opens, whichever of
 * the two keys the storage lists first.
 */
import { describe, expect, it } from "vitest";
import { newMasterKeys } from "../../src/engine/crypto/keys.ts";
import { initRepository, openRepository, writeKey } from "../../src/engine/repository/open.ts";
import { createMemoryBackend } from "../../src/storage/memory.ts";
import { WrongPasswordError } from "../../src/util/errors.ts";

const SCRYPT = { N: 1024, r: 8, p: 1 };
const TUNING = { workers: 0, ownsBackend: false } as const;

describe("an interrupted init, run again", () => {
  it("opens although the leftover key (same passphrase, other master keys) is listed first", async () => {
    const memory = createMemoryBackend();
    // The killed init: its key object is stored (listed first by the memory backend), no config.
    const orphan = await writeKey(memory, newMasterKeys(), "pw", { scrypt: SCRYPT });
    const repo = await initRepository(memory, "pw", { scrypt: SCRYPT, ...TUNING });
    const id = repo.config.id;
    await repo.close();
    expect([...memory.objects.keys()].filter((k) => k.startsWith("keys/"))[0]).toBe(`keys/${orphan}`);
    const again = await openRepository(memory, "pw", TUNING);
    expect(again.config.id).toBe(id);
    expect(again.keyId).not.toBe(orphan);
    await again.close();
    await expect(openRepository(memory, "other", TUNING)).rejects.toThrow(WrongPasswordError);
  });

  it("still fails naming the config when no key decrypts it", async () => {
    const memory = createMemoryBackend();
    (await initRepository(memory, "pw", { scrypt: SCRYPT, ...TUNING })).close();
    for (const name of [...memory.objects.keys()].filter((k) => k.startsWith("keys/")))
      memory.objects.delete(name);
    await writeKey(memory, newMasterKeys(), "pw", { scrypt: SCRYPT });
    await expect(openRepository(memory, "pw", TUNING)).rejects.toThrow(/^config: /);
  });
});
