/**
 * Browse tests: a real repository on a local folder (or any backend), an awkward source tree to
 * back up (odd names, a non-UTF-8 name, long and deep paths, symlinks, an empty folder), and
 * synthetic trees for shapes a file system makes slowly (huge or hostile-deep directories).
 */
import { randomBytes } from "node:crypto";
import { linkSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { backup } from "../../../src/engine/backup.ts";
import type { RepositoryImpl } from "../../../src/engine/repository/repository.ts";
import type { Repository, Snapshot, TreeNode } from "../../../src/engine/types.ts";
import type { Backend } from "../../../src/storage/backend.ts";
import { createLocalBackend } from "../../../src/storage/local.ts";
import { memoryRepo, SMALL_CHUNKS } from "../../helpers/engine-repo.ts";
import { tempDir } from "../../helpers/temp.ts";

export interface Fixture {
  /** Source folder to back up. */
  src: string;
  /** Scratch folder (restores, extractions). */
  scratch: string;
  repo: RepositoryImpl;
  cleanup(): Promise<void>;
}

/** A repository on a local folder (or `backend`) and two scratch folders. */
export async function localFixture(backend?: Backend): Promise<Fixture> {
  const tmp = tempDir("backapp-browse-");
  mkdirSync(join(tmp.path, "src"));
  mkdirSync(join(tmp.path, "scratch"));
  mkdirSync(join(tmp.path, "repo"));
  const repo = await memoryRepo(SMALL_CHUNKS, backend ?? createLocalBackend(join(tmp.path, "repo")));
  return {
    src: join(tmp.path, "src"),
    scratch: join(tmp.path, "scratch"),
    repo,
    cleanup: async () => {
      await repo.close();
      tmp.cleanup();
    },
  };
}

/** A local-folder fixture with the awkward tree (buildAwkward) backed up once. */
export async function awkwardFixture(): Promise<{ fx: Fixture; snapshot: Snapshot; big: Buffer }> {
  const fx = await localFixture();
  const big = buildAwkward(fx.src);
  const { snapshot } = await backup(fx.repo, [fx.src]);
  return { fx, snapshot, big };
}

/** The raw bytes of a name that is not UTF-8: "caf\xe9.txt" (Latin-1). */
export const LATIN1_NAME = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x74, 0x78, 0x74]);
/** How the engine stores that name: the stray byte as U+DC00+byte. */
export const LATIN1_STORED = "caf\udce9.txt";

const T = 1_600_000_000.123456;

/** Builds the awkward tree under `root`; returns a random multi-chunk file's content. */
export function buildAwkward(root: string): Buffer {
  const big = randomBytes(700_000);
  mkdirSync(join(root, "docs", "empty"), { recursive: true });
  writeFileSync(join(root, "docs", "Report FINAL.pdf"), "pdf bytes");
  writeFileSync(join(root, "docs", "big.bin"), big);
  writeFileSync(join(root, "docs", "empty.txt"), "");
  writeFileSync(join(root, "docs", "ünïcödé 日本語.txt"), "unicode");
  writeFileSync(join(root, "docs", 'quote"back\\slash;%.txt'), "odd");
  linkSync(join(root, "docs", "empty.txt"), join(root, "docs", "hardlink.txt"));
  writeFileSync(Buffer.concat([Buffer.from(`${root}/docs/`), LATIN1_NAME]), "latin1");
  const long = "n".repeat(150);
  let deep = join(root, "deep");
  for (let i = 0; i < 12; i++) deep = join(deep, `level-${i}-${"x".repeat(20)}`);
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, `${long}.txt`), "deep and long");
  writeFileSync(
    Buffer.concat([Buffer.from(`${deep}/`), LATIN1_NAME, Buffer.from(long)]),
    "deep, long, not UTF-8",
  );
  symlinkSync("../docs/Report FINAL.pdf", join(root, "deep", "link"));
  symlinkSync(`/nowhere/${"t".repeat(120)}`, join(root, "deep", "long-link"));
  utimesSync(join(root, "docs", "Report FINAL.pdf"), T, T);
  return big;
}

/** A synthetic file node (content: the given blob ids). */
export function fileNode(
  name: string,
  size: number,
  content: string[],
  mtimeNs = "1600000000000000000",
): TreeNode {
  return {
    name,
    type: "file",
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: mtimeNs,
    ctime: mtimeNs,
    inode: 0,
    device: 0,
    size,
    content,
  };
}

/** A synthetic directory node. */
export function dirNode(name: string, subtree: string): TreeNode {
  const t = "1600000000000000000";
  return {
    name,
    type: "dir",
    mode: 0o755,
    uid: 0,
    gid: 0,
    mtime: t,
    ctime: t,
    inode: 0,
    device: 0,
    size: 0,
    subtree,
  };
}

/** Saves a data blob and returns its id. */
export async function dataBlob(repo: Repository, bytes: Uint8Array): Promise<string> {
  const id = repo.blobId(bytes);
  await repo.saveBlob("data", id, bytes);
  return id;
}

/** A chain of `depth` directories "d" (deepest empty); returns the top tree id. */
export async function deepTree(repo: Repository, depth: number, leaf: TreeNode[] = []): Promise<string> {
  let id = await repo.saveTree({ nodes: leaf });
  for (let i = 0; i < depth; i++) id = await repo.saveTree({ nodes: [dirNode("d", id)] });
  return id;
}
