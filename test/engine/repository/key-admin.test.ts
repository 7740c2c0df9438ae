import { describe, expect, it } from "vitest";
import { addKey, changePassword, listKeys, removeKey } from "../../../src/engine/repository/key-admin.ts";
import { createMemoryBackend } from "../../../src/storage/memory.ts";
import { NotFoundError, ValidationError, WrongPasswordError } from "../../../src/util/errors.ts";
import { FAST_SCRYPT, init, open } from "./fixtures.ts";

describe("key management", () => {
  it("adds, lists and removes keys; the current key cannot be removed", async () => {
    const backend = createMemoryBackend();
    const repo = await init(backend, "one", { hostname: "alpha", username: "ann" });
    const second = await addKey(repo, "two", { hostname: "beta", username: "bob", scrypt: FAST_SCRYPT });
    const keys = await listKeys(repo);
    expect(keys).toHaveLength(2);
    expect(keys.find((k) => k.current)).toMatchObject({ hostname: "alpha", username: "ann" });
    expect(keys.find((k) => k.id === second)).toMatchObject({ hostname: "beta", current: false });
    await expect(removeKey(repo, repo.keyId!)).rejects.toThrow(ValidationError);
    await expect(removeKey(repo, "ffffffff")).rejects.toThrow(NotFoundError);
    await removeKey(repo, second.slice(0, 10).toUpperCase()); // ids are hex: case does not matter
    await expect(open(backend, "two")).rejects.toThrow(WrongPasswordError);
    await repo.close();
  });

  it("changes the password without touching data", async () => {
    const backend = createMemoryBackend();
    const repo = await init(backend, "old");
    const blob = new TextEncoder().encode("data");
    await repo.saveBlob("data", repo.blobId(blob), blob);
    await repo.flush();
    const id = await changePassword(repo, "new", { scrypt: FAST_SCRYPT });
    expect(repo.keyId).toBe(id);
    expect((await listKeys(repo)).map((k) => k.id)).toEqual([id]);
    await repo.close();
    await expect(open(backend, "old")).rejects.toThrow(WrongPasswordError);
    const again = await open(backend, "new");
    expect(await again.loadBlob("data", again.blobId(blob))).toEqual(blob);
    await again.close();
  });

  it("skips a damaged key object and refuses keys on unencrypted repositories", async () => {
    const backend = createMemoryBackend();
    (await init(backend, "pw")).close();
    await backend.put(`keys/${"0".repeat(64)}`, new TextEncoder().encode("garbage"));
    const repo = await open(backend, "pw");
    expect((await listKeys(repo)).some((k) => k.hostname === "?")).toBe(true);
    await repo.close();
    const plain = await init(createMemoryBackend(), "", { encryption: false });
    await expect(addKey(plain, "x")).rejects.toThrow(ValidationError);
    await plain.close();
  });
});

describe("downgrade protection", () => {
  it("refuses an unencrypted config planted beside key objects", async () => {
    const backend = createMemoryBackend();
    (await init(backend, "pw")).close();
    const plain = createMemoryBackend();
    (await init(plain, "", { encryption: false })).close();
    await backend.put("config", plain.objects.get("config")!);
    await expect(open(backend, "pw")).rejects.toThrow(/downgrade/);
  });
});
