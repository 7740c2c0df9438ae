import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLocalBackend } from "../../src/storage/local.ts";
import { mapFsError } from "../../src/storage/local-errors.ts";
import { readAll } from "../../src/storage/memory.ts";
import {
  NotFoundError,
  PermanentStorageError,
  TransientStorageError,
  ValidationError,
} from "../../src/util/errors.ts";
import { tempDir } from "../helpers/temp.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** A stream the test feeds by hand, to hold a put half-way. */
function manualStream() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  return { stream, controller };
}

async function names(backend: ReturnType<typeof createLocalBackend>, prefix: string) {
  const out: string[] = [];
  for await (const info of backend.list(prefix)) out.push(info.name);
  return out.sort();
}

const waitFor = async (check: () => boolean) => {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 2));
};

describe("local backend specifics", () => {
  const dirs: { cleanup(): void }[] = [];
  const fresh = () => {
    const dir = tempDir("backapp-local-");
    dirs.push(dir);
    return dir.path;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) d.cleanup();
  });

  it("never shows a partial object: old content until the rename, temp files unlisted", async () => {
    const root = fresh();
    const b = createLocalBackend(root);
    await b.put("snap/one", enc("old"));
    const { stream, controller } = manualStream();
    const putting = b.put("snap/one", stream);
    controller.enqueue(enc("new-part-1/"));
    await waitFor(() => readdirSync(join(root, "snap")).some((n) => n.startsWith(".tmp-")));
    const temps = readdirSync(join(root, "snap")).filter((n) => n.startsWith(".tmp-"));
    expect(temps).toHaveLength(1);
    expect(dec(await b.get("snap/one"))).toBe("old");
    expect(await names(b, "")).toEqual(["snap/one"]);
    controller.enqueue(enc("part-2"));
    controller.close();
    await putting;
    expect(dec(await b.get("snap/one"))).toBe("new-part-1/part-2");
    expect(readdirSync(join(root, "snap"))).toEqual(["one"]);
  });

  it("removes temp files over an hour old (left by a killed write) when writing into their folder", async () => {
    const root = fresh();
    const b = createLocalBackend(root);
    await b.put("data/ab/first", enc("1"));
    const dir = join(root, "data", "ab");
    writeFileSync(join(dir, ".tmp-0123456789abcdef"), "killed write");
    writeFileSync(join(dir, ".tmp-fedcba9876543210"), "a write in progress");
    const twoHoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
    utimesSync(join(dir, ".tmp-0123456789abcdef"), twoHoursAgo, twoHoursAgo);
    // Another instance (the next process) sweeps the folder once, at its first write there.
    const next = createLocalBackend(root);
    await next.put("data/ab/second", enc("2"));
    expect(readdirSync(dir).sort()).toEqual([".tmp-fedcba9876543210", "first", "second"]);
    expect(await names(next, "data/")).toEqual(["data/ab/first", "data/ab/second"]);
  });

  it("leaves the old object and no temp file when the source stream fails", async () => {
    const root = fresh();
    const b = createLocalBackend(root);
    await b.put("x/obj", enc("keep me"));
    const { stream, controller } = manualStream();
    const putting = b.put("x/obj", stream);
    controller.enqueue(enc("garbage"));
    controller.error(new TransientStorageError("source broke"));
    await expect(putting).rejects.toBeInstanceOf(TransientStorageError);
    expect(dec(await b.get("x/obj"))).toBe("keep me");
    expect(readdirSync(join(root, "x"))).toEqual(["obj"]);
  });

  it("maps names to nested folders and refuses names that collide with temp files", async () => {
    const root = fresh();
    const b = createLocalBackend(root);
    await b.put("data/3f/3fa2", enc("p"));
    expect(readFileSync(join(root, "data", "3f", "3fa2"), "utf8")).toBe("p");
    await expect(b.put("data/.tmp-abc", enc("p"))).rejects.toBeInstanceOf(ValidationError);
    await expect(b.get("../outside")).rejects.toBeInstanceOf(ValidationError);
    await expect(b.stat("/etc/passwd")).rejects.toBeInstanceOf(ValidationError);
    await expect(b.delete("a\\b")).rejects.toBeInstanceOf(ValidationError);
    await expect(b.get("data/3f/3fa2", { offset: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(names(b, "../")).rejects.toBeInstanceOf(ValidationError);
    expect(() => createLocalBackend("")).toThrow(ValidationError);
    expect(b.location).toBe(root);
  });

  it("treats a folder as no object and a missing root as an empty listing", async () => {
    const root = fresh();
    const b = createLocalBackend(root);
    await b.put("dir/file", enc("f"));
    await expect(b.get("dir")).rejects.toBeInstanceOf(NotFoundError);
    await expect(b.getStream("dir/file/deeper")).rejects.toBeInstanceOf(NotFoundError);
    expect(await names(createLocalBackend(join(root, "does-not-exist")), "")).toEqual([]);
    const s = await b.getStream("dir/file");
    await s.cancel();
  });

  it("fails permanently with a clear message when the root cannot be written", async () => {
    // Tests run as root, which ignores file modes; /sys refuses new entries even to root.
    const sys = createLocalBackend("/sys/backapp-cannot-write-here");
    const err = await sys.put("config", enc("x")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentStorageError);
    expect((err as Error).message).toMatch(/permission denied|read-only/);
    expect((err as Error).message).toContain("/sys/backapp-cannot-write-here");

    // A file where the repository folder should be.
    const root = fresh();
    writeFileSync(join(root, "blocker"), "not a folder");
    const blocked = createLocalBackend(join(root, "blocker"));
    await expect(blocked.put("config", enc("x"))).rejects.toBeInstanceOf(PermanentStorageError);
    expect(existsSync(join(root, "blocker"))).toBe(true);
  });

  it("maps file-system error codes to kinds", () => {
    const e = (code: string) => Object.assign(new Error(code), { code });
    expect(mapFsError("c", e("ENOSPC"), { reading: false }).message).toMatch(/no space left/);
    expect(mapFsError("c", e("ENOSPC"), { reading: false })).toBeInstanceOf(PermanentStorageError);
    expect(mapFsError("c", e("EROFS"), { reading: false }).message).toMatch(/read-only/);
    expect(mapFsError("c", e("EACCES"), { reading: true })).toBeInstanceOf(PermanentStorageError);
    expect(mapFsError("c", e("EMFILE"), { reading: true })).toBeInstanceOf(TransientStorageError);
    expect(mapFsError("c", e("ENOENT"), { reading: true })).toBeInstanceOf(NotFoundError);
    expect(mapFsError("c", e("ENOENT"), { reading: false })).toBeInstanceOf(PermanentStorageError);
    expect(mapFsError("c", new NotFoundError("x"), { reading: false })).toBeInstanceOf(NotFoundError);
    expect(mapFsError("c", "weird", { reading: false })).toBeInstanceOf(PermanentStorageError);
  });

  it("reads a stream in chunks and reports write progress", async () => {
    const b = createLocalBackend(fresh());
    const data = new Uint8Array(3 * 1024 * 1024 + 5).map((_, i) => i & 255);
    const progress: number[] = [];
    await b.put("blob", data, { onProgress: (n) => progress.push(n) });
    expect(progress.at(-1)).toBe(data.byteLength);
    const chunks: number[] = [];
    for await (const c of await b.getStream("blob", { offset: 5 })) chunks.push(c.byteLength);
    expect(chunks.reduce((a, n) => a + n, 0)).toBe(3 * 1024 * 1024);
    expect(Math.max(...chunks)).toBeLessThanOrEqual(1024 * 1024);
    expect(await readAll(await b.getStream("blob", { offset: 10, length: 4 }))).toEqual(data.slice(10, 14));
  });
});
