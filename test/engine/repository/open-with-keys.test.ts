/**
 * openRepositoryWithKeys: master keys already unwrapped open the repository without the
 * passphrase (what a download child gets from the server), the data reads back; keys of another
 * repository are refused as a wrong password, before anything is read with them.
 */
import { describe, expect, it } from "vitest";
import { openRepositoryWithKeys } from "../../../src/engine/repository/open.ts";
import { createMemoryBackend } from "../../../src/storage/memory.ts";
import { WrongPasswordError } from "../../../src/util/errors.ts";
import { memoryRepo, SMALL_CHUNKS } from "../../helpers/engine-repo.ts";

describe("openRepositoryWithKeys", () => {
  it("opens with the master keys and reads what was stored; another repository's keys are refused", async () => {
    const backend = createMemoryBackend();
    const repo = await memoryRepo(SMALL_CHUNKS, backend);
    const data = new TextEncoder().encode("stored under the master keys");
    const id = repo.blobId(data);
    await repo.saveBlob("data", id, data);
    await repo.flush();
    const keys = repo.masterKeys;
    const reopened = await openRepositoryWithKeys(backend, keys, { lock: "none", ownsBackend: false });
    expect(Buffer.from(await reopened.loadBlob("data", id)).toString()).toBe("stored under the master keys");
    await reopened.close();
    const other = await memoryRepo(SMALL_CHUNKS, createMemoryBackend());
    await expect(
      openRepositoryWithKeys(backend, other.masterKeys, { lock: "none", ownsBackend: false }),
    ).rejects.toBeInstanceOf(WrongPasswordError);
    await other.close();
    await repo.close();
  });
});
