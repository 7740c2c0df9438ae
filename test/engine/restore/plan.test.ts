import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { packName } from "../../../src/engine/repository/pack-format.ts";
import type { RepositoryImpl } from "../../../src/engine/repository/repository.ts";
import { FileSink, HandleBudget } from "../../../src/engine/restore/sink.ts";
import { openTargetDirs } from "../../../src/engine/restore/target-dirs.ts";
import { restore } from "../../../src/engine/restore.ts";
import type { Snapshot, TreeNode } from "../../../src/engine/types.ts";
import type { Backend } from "../../../src/storage/backend.ts";
import { createMemoryBackend } from "../../../src/storage/memory.ts";
import { CancelledError } from "../../../src/util/errors.ts";
import { memoryRepo } from "../../helpers/engine-repo.ts";
import { tempDir } from "../../helpers/temp.ts";
import { emptySummary } from "../repository/fixtures.ts";

/** Counts getStream calls; `onStream` may act on each (cancel, say). */
function countingBackend(inner: Backend) {
  const state = { streams: 0, onStream: (_n: number) => {} };
  const backend = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "getStream") {
        return (...args: Parameters<Backend["getStream"]>) => {
          state.onStream(++state.streams);
          return target.getStream(...args);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { backend, state };
}

let tmp: { path: string; cleanup(): void };
let repo: RepositoryImpl;
let counted: ReturnType<typeof countingBackend>;
beforeEach(async () => {
  tmp = tempDir();
  counted = countingBackend(createMemoryBackend());
  repo = await memoryRepo(undefined, counted.backend);
});
afterEach(async () => {
  await repo.close();
  tmp.cleanup();
});

const META = { mode: 0o640, uid: 0, gid: 0, mtime: "1600000000123456000", ctime: "0", inode: 1, device: 1 };

async function blob(bytes: Uint8Array): Promise<string> {
  const id = repo.blobId(bytes);
  await repo.saveBlob("data", id, bytes);
  return id;
}

function fileOf(name: string, parts: Uint8Array[], ids: string[]): TreeNode {
  const size = parts.reduce((n, p) => n + p.length, 0);
  return { name, type: "file", ...META, size, content: ids };
}

async function snapshotOf(nodes: TreeNode[]): Promise<Snapshot> {
  const tree = await repo.saveTree({ nodes: [...nodes].sort((a, b) => (a.name < b.name ? -1 : 1)) });
  await repo.flush();
  return {
    id: "e".repeat(64),
    time: "2026-01-01T00:00:00.000Z",
    hostname: "h",
    username: "u",
    paths: ["/"],
    tags: [],
    parent: null,
    tree,
    program_version: "test",
    summary: emptySummary(),
  };
}

/** Files over three shared blobs: repeats inside one file, shares across files, an empty file. */
async function sharedFixture() {
  const [a, b, c] = [randomBytes(30_000), randomBytes(40_000), randomBytes(25_000)].map(
    (x) => new Uint8Array(x),
  );
  const [ia, ib, ic] = [await blob(a!), await blob(b!), await blob(c!)];
  const files = {
    aba: [a!, b!, a!],
    ba: [b!, a!],
    cc: [c!, c!, c!],
    abc: [a!, b!, c!],
    empty: [],
  } as Record<string, Uint8Array[]>;
  const ids: Record<string, string[]> = {
    aba: [ia, ib, ia],
    ba: [ib, ia],
    cc: [ic, ic, ic],
    abc: [ia, ib, ic],
    empty: [],
  };
  const nodes = Object.keys(files).map((n) => fileOf(n, files[n]!, ids[n]!));
  return { files, ids: { ia, ib, ic }, snapshot: await snapshotOf(nodes) };
}

function expectRestored(target: string, files: Record<string, Uint8Array[]>, only?: string[]) {
  for (const name of only ?? Object.keys(files)) {
    expect(readFileSync(join(target, name)).equals(Buffer.concat(files[name]!)), name).toBe(true);
    const st = statSync(join(target, name));
    expect(st.mode & 0o7777).toBe(0o640);
    expect(st.mtimeMs).toBeCloseTo(1600000000123.456, 1);
  }
}

const noParts = (target: string) => readdirSync(target).filter((n) => n.startsWith(".backapp-part"));

describe("restore plan (pack by pack)", () => {
  it("writes blobs shared across and repeated within files, reading each pack once", async () => {
    const { files, snapshot } = await sharedFixture();
    const target = join(tmp.path, "out");
    counted.state.streams = 0;
    const summary = await restore(repo, snapshot, { target });
    expect(summary.errors).toEqual([]);
    expect(summary.files_restored).toBe(5);
    expect(summary.bytes_written).toBe(
      Object.values(files)
        .flat()
        .reduce((n, p) => n + p.length, 0),
    );
    expectRestored(target, files);
    // one data pack, one coalesced read (tree loads go through get, not getStream)
    expect(counted.state.streams).toBe(1);
    expect(noParts(target)).toEqual([]);
  });

  it("fails only the files that need a corrupted blob, and reruns to completion once repaired", async () => {
    const { files, ids, snapshot } = await sharedFixture();
    const e = repo.lookup("data", ids.ic)!;
    const original = await counted.backend.get(packName(e.pack));
    const damaged = original.slice();
    damaged[e.offset + 7]! ^= 0x01;
    await counted.backend.put(packName(e.pack), damaged);
    const target = join(tmp.path, "out");
    const summary = await restore(repo, snapshot, { target });
    expect(summary.errors.map((x) => x.path).sort()).toEqual(["/abc", "/cc"]);
    for (const err of summary.errors) expect(err.message).toContain(ids.ic);
    expectRestored(target, files, ["aba", "ba", "empty"]);
    expect(readdirSync(target).sort()).toEqual(["aba", "ba", "empty"]);
    await counted.backend.put(packName(e.pack), original);
    const again = await restore(repo, snapshot, { target });
    expect(again).toMatchObject({ files_restored: 2, files_skipped: 3, errors: [] });
    expectRestored(target, files);
  });

  it("reports a blob missing from the index for its file only", async () => {
    const { files, snapshot } = await sharedFixture();
    const ghost = "0".repeat(64);
    const tree = await repo.loadTree(snapshot.tree);
    const nodes = [...tree.nodes, fileOf("ghost", [new Uint8Array(5)], [ghost])];
    nodes[nodes.length - 1]!.size = 5;
    const withGhost = await snapshotOf(nodes);
    const target = join(tmp.path, "out");
    const summary = await restore(repo, withGhost, { target });
    expect(summary.errors).toEqual([{ path: "/ghost", message: expect.stringContaining("not found") }]);
    expectRestored(target, files);
    expect(noParts(target)).toEqual([]);
  });

  it("refuses a file whose blobs do not add up to its size", async () => {
    const { ids } = await sharedFixture();
    const node = fileOf("liar", [], [ids.ia]);
    node.size = 12;
    const summary = await restore(repo, await snapshotOf([node]), { target: join(tmp.path, "out") });
    expect(summary.errors).toEqual([{ path: "/liar", message: expect.stringContaining("the tree says 12") }]);
  });

  it("cancels mid-read leaving no temporary files, and a rerun resumes", async () => {
    const nodes: TreeNode[] = [];
    const files: Record<string, Uint8Array[]> = {};
    for (let i = 0; i < 12; i++) {
      const part = new Uint8Array(randomBytes(50_000));
      files[`f${i}`] = [part];
      nodes.push(fileOf(`f${i}`, [part], [await blob(part)]));
      // a pack per few files, so there are several reads to cancel between
      if (i % 3 === 2) await repo.flush();
    }
    const snapshot = await snapshotOf(nodes);
    const target = join(tmp.path, "out");
    const ac = new AbortController();
    counted.state.streams = 0;
    counted.state.onStream = (n) => {
      if (n === 2) ac.abort();
    };
    await expect(restore(repo, snapshot, { target, signal: ac.signal, concurrency: 1 })).rejects.toThrow(
      CancelledError,
    );
    expect(noParts(target)).toEqual([]);
    counted.state.onStream = () => {};
    const second = await restore(repo, snapshot, { target });
    expect(second.errors).toEqual([]);
    expect(second.files_restored + second.files_skipped).toBe(12);
    expectRestored(target, files);
  });

  it("writes a file's blobs out of order, reopening without truncating when handles are scarce", async () => {
    const dirs = openTargetDirs(tmp.path);
    const dir = dirs.root;
    const node = fileOf("x", [new Uint8Array(9)], []);
    node.size = 9;
    const handles = new HandleBudget(0);
    const sink = new FileSink(
      {
        dirs,
        node,
        dir,
        name: Buffer.from("x"),
        path: Buffer.from(join(dir.toString(), "x")),
        display: "/x",
      },
      3,
      handles,
    );
    expect(await sink.write(Buffer.from("ghi"), 6)).toBe(false);
    expect(handles.open).toBe(0);
    expect(await sink.write(Buffer.from("abc"), 0)).toBe(false);
    expect(await sink.write(Buffer.from("def"), 3)).toBe(true);
    await sink.finish(repo, false, new AbortController().signal);
    expect(readFileSync(join(tmp.path, "x"), "utf8")).toBe("abcdefghi");
    expect(handles.open).toBe(0);
    expect(noParts(tmp.path)).toEqual([]);
    dirs.close();
  });

  it("restores a file with more blobs than a batch in slices, and fails it cleanly on a bad slice", async () => {
    const parts = Array.from({ length: 5 }, () => new Uint8Array(randomBytes(20_000)));
    const order = [0, 1, 2, 0, 3, 4, 4, 1, 2, 3];
    const ids = await Promise.all(parts.map((p) => blob(p)));
    const node = fileOf(
      "big",
      order.map((i) => parts[i]!),
      order.map((i) => ids[i]!),
    );
    const small = fileOf("small", [parts[0]!], [ids[0]!]);
    const snapshot = await snapshotOf([node, small]);
    const target = join(tmp.path, "out");
    const files = { big: order.map((i) => parts[i]!), small: [parts[0]!] };
    const first = await restore(repo, snapshot, { target, batchBlobs: 3 });
    expect(first).toMatchObject({ files_restored: 2, errors: [] });
    expectRestored(target, files);
    const again = await restore(repo, snapshot, { target, batchBlobs: 3 });
    expect(again).toMatchObject({ files_restored: 0, files_skipped: 2, errors: [] });

    // blob 3 first appears in the second slice: the file fails there, its later slices are skipped
    const e = repo.lookup("data", ids[3]!)!;
    const bytes = await counted.backend.get(packName(e.pack));
    bytes[e.offset + 9]! ^= 0x04;
    await counted.backend.put(packName(e.pack), bytes);
    const other = join(tmp.path, "other");
    const bad = await restore(repo, snapshot, { target: other, batchBlobs: 3 });
    expect(bad.errors.map((x) => x.path)).toEqual(["/big"]);
    expect(bad.files_restored).toBe(1);
    expect(readdirSync(other)).toEqual(["small"]);
  });
});
