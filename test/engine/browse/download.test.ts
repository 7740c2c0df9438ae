import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { backup } from "../../../src/engine/backup.ts";
import {
  contentDisposition,
  downloadFile,
  downloadPath,
  downloadTar,
} from "../../../src/engine/browse/download.ts";
import { searchSnapshot } from "../../../src/engine/browse/search.ts";
import { listTreePage } from "../../../src/engine/browse/tree-page.ts";
import { decodePathToken, encodePathToken, TreeCache } from "../../../src/engine/browse/trees.ts";
import { fileVersions } from "../../../src/engine/browse/versions.ts";
import type { Snapshot } from "../../../src/engine/types.ts";
import { createS3Backend } from "../../../src/storage/s3.ts";
import { CancelledError, IntegrityError, NotFoundError, ValidationError } from "../../../src/util/errors.ts";
import { listTree, treeDifferences } from "../../helpers/fs-tree.ts";
import { startS3rver } from "../../helpers/s3rver.ts";
import {
  buildAwkward,
  dataBlob,
  type Fixture,
  fileNode,
  LATIN1_NAME,
  LATIN1_STORED,
  localFixture,
} from "./fixture.ts";

let fx: Fixture;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function setUp(
  make: () => Promise<Fixture> = localFixture,
): Promise<{ snapshot: Snapshot; big: Buffer }> {
  fx = await make();
  cleanups.push(() => fx.cleanup());
  const big = buildAwkward(fx.src);
  const { snapshot } = await backup(fx.repo, [fx.src]);
  return { snapshot, big };
}

async function bytes(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  return Buffer.from(await new Response(stream).arrayBuffer());
}

/** Extracts with Debian's GNU tar, keeping modes and times. */
function untar(archive: Buffer, into: string): void {
  mkdirSync(into, { recursive: true });
  const r = spawnSync("tar", ["-x", "-p", "-f", "-", "-C", into], { input: archive });
  expect({ status: r.status, stderr: r.stderr.toString() }).toEqual({ status: 0, stderr: "" });
}

describe("downloadFile", () => {
  it("streams a multi-chunk file with its exact size, name and mtime", async () => {
    const { snapshot, big } = await setUp();
    const d = await downloadFile(fx.repo, new TreeCache(fx.repo), snapshot, `${fx.src}/docs/big.bin`);
    expect(d.size).toBe(big.length);
    expect(d.name).toBe("big.bin");
    expect((await bytes(d.stream)).equals(big)).toBe(true);
    const odd = await downloadFile(
      fx.repo,
      new TreeCache(fx.repo),
      snapshot,
      `${fx.src}/docs/${LATIN1_STORED}`,
    );
    expect(odd.name).toBe(LATIN1_STORED);
    expect((await bytes(odd.stream)).toString()).toBe("latin1");
    const empty = await downloadFile(fx.repo, new TreeCache(fx.repo), snapshot, `${fx.src}/docs/empty.txt`);
    expect(empty.size).toBe(0);
    expect((await bytes(empty.stream)).length).toBe(0);
  });

  it("serves through a real Bun HTTP listener, with a safe Content-Disposition", async () => {
    const { snapshot, big } = await setUp();
    const trees = new TreeCache(fx.repo);
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: async (req) => {
        const path = decodePathToken(new URL(req.url).searchParams.get("p") ?? "");
        const d = await downloadFile(fx.repo, trees, snapshot, path);
        const headers = {
          "Content-Length": String(d.size),
          "Content-Disposition": contentDisposition(d.name),
        };
        return new Response(d.stream, { headers });
      },
    });
    cleanups.push(async () => {
      await server.stop(true);
    });
    const get = (path: string) => fetch(`http://127.0.0.1:${server.port}/?p=${encodePathToken(path)}`);
    const res = await get(`${fx.src}/docs/big.bin`);
    // Bun 1.4.5's server drops a Content-Length set for a stream body and sends it chunked
    // (oven-sh/bun#10507, open): the header is the web layer's to fight for, not asserted here.
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(big)).toBe(true);
    const odd = await get(`${fx.src}/docs/${LATIN1_STORED}`);
    expect(odd.headers.get("content-disposition")).toBe(contentDisposition(LATIN1_STORED));
    expect(await odd.text()).toBe("latin1");
  });

  it("refuses folders, symlinks, traversal; stops reading when cancelled", async () => {
    const { snapshot } = await setUp();
    const trees = new TreeCache(fx.repo);
    await expect(downloadFile(fx.repo, trees, snapshot, `${fx.src}/docs`)).rejects.toThrow(ValidationError);
    await expect(downloadFile(fx.repo, trees, snapshot, `${fx.src}/deep/link`)).rejects.toThrow(
      ValidationError,
    );
    await expect(downloadFile(fx.repo, trees, snapshot, `${fx.src}/docs/../x`)).rejects.toThrow(
      ValidationError,
    );
    await expect(downloadFile(fx.repo, trees, snapshot, `${fx.src}/nope`)).rejects.toThrow(NotFoundError);
    let reads = 0;
    const counting = {
      loadBlob: (...a: Parameters<typeof fx.repo.loadBlob>) => {
        reads++;
        return fx.repo.loadBlob(...a);
      },
    };
    const d = await downloadFile(counting, trees, snapshot, `${fx.src}/docs/big.bin`, { readAhead: 0 });
    const reader = d.stream.getReader();
    expect((await reader.read()).done).toBe(false);
    await reader.cancel();
    expect(reads).toBe(1); // one chunk asked for, one read: the rest were never loaded
    const ac = new AbortController();
    const e = await downloadFile(fx.repo, trees, snapshot, `${fx.src}/docs/big.bin`, { signal: ac.signal });
    ac.abort();
    await expect(bytes(e.stream)).rejects.toThrow(CancelledError);
  });

  it("fails the stream when the blobs do not add up to the promised size", async () => {
    const { snapshot } = await setUp();
    const blob = await dataBlob(fx.repo, new Uint8Array([1, 2, 3]));
    const tree = await fx.repo.saveTree({ nodes: [fileNode("liar", 10, [blob])] });
    await fx.repo.flush();
    const d = await downloadFile(fx.repo, new TreeCache(fx.repo), { ...snapshot, tree }, "/liar");
    expect(d.size).toBe(10);
    await expect(bytes(d.stream)).rejects.toThrow(IntegrityError);
    // In a tar the small file was loaded ahead: the same check holds.
    const t = await downloadTar(fx.repo, new TreeCache(fx.repo), { ...snapshot, tree }, ["/"]);
    await expect(bytes(t.stream)).rejects.toThrow(IntegrityError);
  });
});

describe("downloadTar", () => {
  it("archives a folder that GNU tar extracts byte for byte: odd names, deep paths, symlinks, times", async () => {
    const { snapshot } = await setUp();
    const t = await downloadTar(fx.repo, new TreeCache(fx.repo), snapshot, [fx.src], { withSize: true });
    expect(t.name).toBe("src.tar");
    const archive = await bytes(t.stream);
    expect(archive.length).toBe(t.size);
    expect(archive.length % 512).toBe(0);
    untar(archive, join(fx.scratch, "x"));
    expect(treeDifferences(listTree(fx.src), listTree(join(fx.scratch, "x", "src")))).toEqual([]);
    const latin = readFileSync(Buffer.concat([Buffer.from(`${fx.scratch}/x/src/docs/`), LATIN1_NAME]));
    expect(latin.toString()).toBe("latin1");
  });

  it("serves a path as a file or as a tar by what it is", async () => {
    const { snapshot, big } = await setUp();
    const trees = new TreeCache(fx.repo);
    const f = await downloadPath(fx.repo, trees, snapshot, `${fx.src}/docs/big.bin`);
    expect(f).toMatchObject({ kind: "file", name: "big.bin", size: big.length });
    expect((await bytes(f.stream)).equals(big)).toBe(true);
    const d = await downloadPath(fx.repo, trees, snapshot, `${fx.src}/deep/link`, { withSize: true });
    expect(d).toMatchObject({ kind: "tar", name: "link.tar" });
    const archive = await bytes(d.stream);
    expect(archive.length).toBe(d.size);
    const list = execFileSync("tar", ["-tv", "-f", "-"], { input: archive }).toString();
    expect(list).toContain("link -> ../docs/Report FINAL.pdf");
    await expect(downloadPath(fx.repo, trees, snapshot, `${fx.src}/x/../y`)).rejects.toThrow(ValidationError);
  });

  it("archives the root and a selection relative to their common parent", async () => {
    const { snapshot } = await setUp();
    const trees = new TreeCache(fx.repo);
    const whole = await downloadTar(fx.repo, trees, snapshot, ["/"]);
    expect(whole.name).toBe(`snapshot-${snapshot.id.slice(0, 8)}.tar`);
    untar(await bytes(whole.stream), join(fx.scratch, "root"));
    expect(treeDifferences(listTree(fx.src), listTree(join(fx.scratch, "root", fx.src)))).toEqual([]);
    const picked = [
      `${fx.src}/docs/empty`,
      `${fx.src}/docs/big.bin`,
      `${fx.src}/deep/link`,
      `${fx.src}/docs/big.bin`,
    ];
    const sel = await downloadTar(fx.repo, trees, snapshot, picked);
    const list = execFileSync("tar", ["-t", "-f", "-"], { input: await bytes(sel.stream) })
      .toString()
      .trim()
      .split("\n");
    expect(list).toEqual(["deep/link", "docs/big.bin", "docs/empty/"]);
    const nested = await downloadTar(fx.repo, trees, snapshot, [`${fx.src}/docs`, `${fx.src}/docs/big.bin`]);
    const names = execFileSync("tar", ["-t", "-f", "-"], { input: await bytes(nested.stream) }).toString();
    expect(names.match(/big\.bin/g)).toHaveLength(1);
    await expect(downloadTar(fx.repo, trees, snapshot, [])).rejects.toThrow(ValidationError);
    await expect(downloadTar(fx.repo, trees, snapshot, [`${fx.src}/..`])).rejects.toThrow(ValidationError);
  });

  it("loads small files ahead of the one being written, and stops when cancelled", async () => {
    const { snapshot } = await setUp();
    let reads = 0;
    const counting = {
      loadBlob: (...a: Parameters<typeof fx.repo.loadBlob>) => {
        reads++;
        return fx.repo.loadBlob(...a);
      },
    };
    const t = await downloadTar(counting, new TreeCache(fx.repo), snapshot, [`${fx.src}/docs`]);
    const reader = t.stream.getReader();
    expect((await reader.read()).done).toBe(false); // the folder's header
    expect(reads).toBeGreaterThanOrEqual(5); // the small files after it are already loading
    await reader.cancel();
    const after = reads;
    await new Promise((r) => setTimeout(r, 50));
    expect(reads).toBe(after);
  });

  it("streams, lists, searches and finds versions on an S3 store (s3rver)", async () => {
    const s3 = await startS3rver();
    cleanups.push(() => s3.stop());
    const { snapshot, big } = await setUp(() => localFixture(createS3Backend({ ...s3, prefix: "repo" })));
    const trees = new TreeCache(fx.repo);
    const d = await downloadFile(fx.repo, trees, snapshot, `${fx.src}/docs/big.bin`);
    expect((await bytes(d.stream)).equals(big)).toBe(true);
    const t = await downloadTar(fx.repo, trees, snapshot, [`${fx.src}/docs`]);
    untar(await bytes(t.stream), fx.scratch);
    expect(treeDifferences(listTree(join(fx.src, "docs")), listTree(join(fx.scratch, "docs")))).toEqual([]);
    // The rest of the browse API over the same remote store.
    const page = await listTreePage(trees, snapshot, `${fx.src}/docs`, { limit: 3 });
    expect(page.items).toHaveLength(3);
    expect(page.nextCursor).not.toBeNull();
    const found = await searchSnapshot(trees, snapshot, "*.PDF");
    expect(found.items.map((i) => i.path)).toEqual([`${fx.src}/docs/Report FINAL.pdf`]);
    const versions = await fileVersions(trees, [snapshot], `${fx.src}/docs/big.bin`);
    expect(versions).toMatchObject([{ snapshotId: snapshot.id, size: big.length, contentChanged: true }]);
  });
});

describe("contentDisposition", () => {
  it("gives an ASCII fallback and the exact UTF-8 name for any character", () => {
    expect(contentDisposition('a"b\\c;%.txt')).toBe(
      `attachment; filename="a_b_c__.txt"; filename*=UTF-8''a%22b%5Cc%3B%25.txt`,
    );
    expect(contentDisposition("日本\r\n.txt")).toBe(
      `attachment; filename="____.txt"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%0D%0A.txt`,
    );
    expect(contentDisposition(LATIN1_STORED)).toBe(
      `attachment; filename="caf_.txt"; filename*=UTF-8''caf%EF%BF%BD.txt`,
    );
  });
});
