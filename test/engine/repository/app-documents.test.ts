/**
 * App documents (apps/<app>/<id>): sealed under the repository's keys, replaced by writing the new
 * version before deleting the old, skipped when unchanged, absent in older repositories, and
 * ignored by check and by readers that do not know them.
 */
import { describe, expect, it } from "vitest";
import { checkRepository } from "../../../src/engine/check.ts";
import { createMemoryBackend } from "../../../src/storage/memory.ts";
import { init, open } from "./fixtures.ts";

async function names(backend: ReturnType<typeof createMemoryBackend>, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of backend.list(prefix)) out.push(o.name);
  return out;
}

describe("app documents", () => {
  it("an older repository has none; a written one reads back, sealed, and replaces the previous version", async () => {
    const backend = createMemoryBackend();
    const repo = await init(backend);
    expect(await repo.readAppDocument("backapp")).toBeNull();
    expect(await repo.writeAppDocument("backapp", '{"jobs":["one"]}', "2026-01-01T00:00:00.000Z")).toBe(true);
    const [first] = await names(backend, "apps/backapp/");
    const stored = new TextDecoder().decode(await backend.get(first!));
    expect(stored).not.toContain("jobs");
    expect(await repo.writeAppDocument("backapp", '{"jobs":["one"]}', "2026-01-02T00:00:00.000Z")).toBe(
      false,
    );
    expect(await repo.writeAppDocument("backapp", '{"jobs":["two"]}', "2026-01-03T00:00:00.000Z")).toBe(true);
    expect(await names(backend, "apps/backapp/")).toHaveLength(1);
    await repo.close();
    const again = await open(backend);
    const doc = await again.readAppDocument("backapp");
    expect(doc).toMatchObject({
      app: "backapp",
      text: '{"jobs":["two"]}',
      written: "2026-01-03T00:00:00.000Z",
    });
    expect(await again.readAppDocument("other")).toBeNull();
    await again.close();
  });

  it("with two versions left by a crash the newest wins; a damaged one is skipped; other keys cannot read it", async () => {
    const backend = createMemoryBackend();
    const repo = await init(backend);
    await repo.writeAppDocument("backapp", "old", "2026-01-01T00:00:00.000Z");
    const [old] = await names(backend, "apps/backapp/");
    const oldBytes = await backend.get(old!);
    await repo.writeAppDocument("backapp", "new", "2026-02-01T00:00:00.000Z");
    await backend.put(old!, oldBytes); // the delete of the replaced version never happened
    expect((await repo.readAppDocument("backapp"))?.text).toBe("new");
    const newest = (await names(backend, "apps/backapp/")).find((n) => n !== old)!;
    const damaged = new Uint8Array(await backend.get(newest));
    damaged[damaged.length - 1]! ^= 1;
    await backend.put(newest, damaged);
    expect((await repo.readAppDocument("backapp"))?.text).toBe("old");
    const stranger = await init(createMemoryBackend());
    for (const name of await names(backend, "apps/"))
      await stranger.backend.put(name, await backend.get(name));
    expect(await stranger.readAppDocument("backapp")).toBeNull();
    await expect(repo.writeAppDocument("../x", "t", "2026-01-01T00:00:00.000Z")).rejects.toThrow(
      /invalid app document name/,
    );
    await repo.close();
    await stranger.close();
  });

  it("check finds nothing to complain about in a repository holding one", async () => {
    const backend = createMemoryBackend();
    const repo = await init(backend);
    await repo.writeAppDocument("backapp", "definitions", "2026-01-01T00:00:00.000Z");
    const result = await checkRepository(repo);
    expect(result.errors).toEqual([]);
    await repo.close();
  });
});
