/**
 * Builds repositories for prune, forget and stats tests through the repository API (fixed 8 KiB
 * chunks: prune does not care how content was cut), and reads snapshots back byte for byte
 * through trees and blobs, independent of the archiver and restorer.
 */
import { randomBytes } from "node:crypto";
import type { RepositoryImpl } from "../../src/engine/repository/repository.ts";
import type { Snapshot, Tree, TreeNode } from "../../src/engine/types.ts";
import type { Backend } from "../../src/storage/backend.ts";
import { snapshotInput } from "./repository/fixtures.ts";

export { BACKENDS, FAST_SCRYPT, init, open } from "./repository/fixtures.ts";

export const CHUNK = 8 * 1024;

export type Files = Record<string, Uint8Array>;

function node(name: string, extra: Partial<TreeNode>): TreeNode {
  return {
    name,
    type: "file",
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: "0",
    ctime: "0",
    inode: 0,
    device: 0,
    size: 0,
    ...extra,
  };
}

async function saveFile(repo: RepositoryImpl, data: Uint8Array): Promise<string[]> {
  const ids: string[] = [];
  for (let at = 0; at < data.byteLength; at += CHUNK) {
    const chunk = data.subarray(at, at + CHUNK);
    const id = repo.blobId(chunk);
    await repo.saveBlob("data", id, chunk);
    ids.push(id);
  }
  return ids;
}

/** Saves `files` ("dir/name" paths, one level of directories) as a snapshot at `time`. */
export async function writeSnapshot(
  repo: RepositoryImpl,
  files: Files,
  time: string,
  extra: { hostname?: string; tags?: string[] } = {},
): Promise<Snapshot> {
  const dirs = new Map<string, TreeNode[]>();
  const root: TreeNode[] = [];
  for (const [path, data] of Object.entries(files)) {
    const [dir, name] = path.includes("/") ? path.split("/", 2) : ["", path];
    const n = node(name!, { size: data.byteLength, content: await saveFile(repo, data) });
    if (dir) dirs.set(dir, [...(dirs.get(dir) ?? []), n]);
    else root.push(n);
  }
  for (const [dir, nodes] of dirs) {
    const subtree = await repo.saveTree({ nodes: sortNodes(nodes) });
    root.push(node(dir, { type: "dir", mode: 0o755, subtree }));
  }
  const tree = await repo.saveTree({ nodes: sortNodes(root) });
  await repo.flush();
  return repo.saveSnapshot({ ...snapshotInput(tree, time), ...extra });
}

function sortNodes(nodes: TreeNode[]): TreeNode[] {
  return nodes.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
}

/** Reads every file of a snapshot back (every blob authenticated). */
export async function readSnapshot(repo: RepositoryImpl, s: Snapshot): Promise<Files> {
  const out: Files = {};
  const walk = async (tree: Tree, prefix: string) => {
    for (const n of tree.nodes) {
      if (n.subtree) await walk(await repo.loadTree(n.subtree), `${prefix}${n.name}/`);
      else {
        const parts = [];
        for (const id of n.content ?? []) parts.push(await repo.loadBlob("data", id));
        out[`${prefix}${n.name}`] = new Uint8Array(Buffer.concat(parts));
      }
    }
  };
  await walk(await repo.loadTree(s.tree), "");
  return out;
}

/** Generation g of a small tree: shared files, files changed per generation, a growing log. */
export function generation(g: number, shared: Files): Files {
  return {
    ...shared,
    [`gen/unique-${g}.bin`]: new Uint8Array(randomBytes(3 * CHUNK + 100)),
    "gen/log.txt": new Uint8Array(Buffer.from(`entry\n`.repeat(2000 + g * 500))),
  };
}

export function sharedFiles(): Files {
  return {
    "a.bin": new Uint8Array(randomBytes(5 * CHUNK)),
    "docs/b.txt": new Uint8Array(Buffer.from("hello\n".repeat(5000))),
  };
}

/** Object names (with sizes) under a prefix. */
export async function listing(backend: Backend, prefix = ""): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const o of backend.list(prefix)) out.set(o.name, o.size);
  return out;
}

export async function totalSize(backend: Backend, prefix = "data/"): Promise<number> {
  let n = 0;
  for (const s of (await listing(backend, prefix)).values()) n += s;
  return n;
}
