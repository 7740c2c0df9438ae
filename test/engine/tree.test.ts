import { describe, expect, it } from "vitest";
import { compareNames, decodeTree, encodeTree, nameSortKey, treeProblem } from "../../src/engine/tree.ts";
import type { Tree, TreeNode } from "../../src/engine/types.ts";
import { createMemoryBackend } from "../../src/storage/memory.ts";
import { IntegrityError, ValidationError } from "../../src/util/errors.ts";
import { init } from "./repository/fixtures.ts";

const ID = "a".repeat(64);

function file(name: string, extra: Partial<TreeNode> = {}): TreeNode {
  return {
    name,
    type: "file",
    mode: 0o644,
    uid: 1000,
    gid: 1000,
    mtime: "1700000000123456789",
    ctime: "1700000000123456789",
    inode: 42,
    device: 2049,
    size: 3,
    content: [ID],
    ...extra,
  };
}

const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe("trees", () => {
  it("encode canonically: sorted by UTF-8 bytes, fixed key order, equal trees equal bytes", () => {
    const a: Tree = {
      nodes: [
        file("é"),
        file("z"),
        file("A"),
        { ...file("dir"), type: "dir", size: 0, content: undefined, subtree: ID },
      ],
    };
    const b: Tree = { nodes: [...a.nodes].reverse().map((n) => ({ ...n })) };
    const enc = encodeTree(a);
    expect(enc).toEqual(encodeTree(b));
    expect(decodeTree(enc).nodes.map((n) => n.name)).toEqual(["A", "dir", "z", "é"]);
    expect(new TextDecoder().decode(enc)).toMatch(/^\{"nodes":\[\{"name":"A","type":"file","mode":420,/);
  });

  it("keeps names of non-UTF-8 files (escaped bytes) distinct, ordered and intact", () => {
    // Bytes 0x80 and 0x81 as surrogate escapes, next to real characters sorting around them.
    const names = ["a\udc81", "a\udc80", "a\u00ff", "a\u{1f600}", "a\uffff"];
    const enc = encodeTree({ nodes: names.map((n) => file(n)) });
    expect(new TextDecoder("utf-8", { fatal: true }).decode(enc)).toContain("\\udc80");
    const back = decodeTree(enc).nodes.map((n) => n.name);
    expect(back).toEqual(["a\u00ff", "a\udc80", "a\udc81", "a\uffff", "a\u{1f600}"]);
    expect(() => encodeTree({ nodes: [file("x\ud800")] })).toThrow(/lone surrogate/);
    expect(() => encodeTree({ nodes: [file("x\udc10")] })).toThrow(/lone surrogate/);
  });

  it("round-trips through the repository", async () => {
    const repo = await init(createMemoryBackend(), "pw");
    const tree: Tree = {
      nodes: [file("x"), { ...file("link"), type: "symlink", size: 0, content: undefined, target: "../y" }],
    };
    const id = await repo.saveTree(tree);
    expect(await repo.saveTree(tree)).toBe(id);
    await repo.flush();
    expect((await repo.loadTree(id)).nodes.map((n) => n.name)).toEqual(["link", "x"]);
    await repo.close();
  });

  it.each(["", ".", "..", "a/b", "../etc", "nul\0byte", "/abs"])("rejects the name %j", (name) => {
    expect(() => encodeTree({ nodes: [file(name)] })).toThrow(ValidationError);
    expect(() => decodeTree(bytes({ nodes: [file(name)] }))).toThrow(IntegrityError);
  });

  it.each([
    ["unknown type", { type: "fifo" }],
    ["negative size", { size: -1 }],
    ["fractional inode", { inode: 1.5 }],
    ["huge uid", { uid: 2 ** 40 }],
    ["numeric mtime", { mtime: 5 }],
    ["bad content id", { content: ["zz"] }],
    ["subtree on a file", { subtree: ID }],
    ["extra field", { evil: true }],
    ["string mode", { mode: "644" }],
  ])("rejects a hostile node: %s", (_label, patch) => {
    expect(() => decodeTree(bytes({ nodes: [{ ...file("ok"), ...patch }] }))).toThrow(IntegrityError);
  });

  it("rejects unsorted or duplicate nodes, non-JSON and wrong shapes", () => {
    expect(() => decodeTree(bytes({ nodes: [file("b"), file("a")] }))).toThrow(/not sorted/);
    expect(() => decodeTree(bytes({ nodes: [file("a"), file("a")] }))).toThrow(/duplicated/);
    expect(() => decodeTree(new Uint8Array([0xff, 0xfe]))).toThrow(IntegrityError);
    expect(() => decodeTree(bytes([]))).toThrow(IntegrityError);
    expect(() => decodeTree(bytes({ nodes: [], more: 1 }))).toThrow(IntegrityError);
    expect(() => decodeTree(bytes({ nodes: [null] }))).toThrow(IntegrityError);
    expect(treeProblem({ nodes: [{ ...file("d"), type: "dir", size: 0, content: undefined }] })).toMatch(
      /subtree/,
    );
    expect(treeProblem({ nodes: [{ ...file("s"), type: "symlink", content: undefined }] })).toMatch(/target/);
  });

  it("makes loadTree reject a hostile tree blob stored under a valid id", async () => {
    const repo = await init(createMemoryBackend(), "pw");
    const evil = bytes({ nodes: [file("..")] });
    const id = repo.blobId(evil);
    await repo.saveBlob("tree", id, evil);
    await repo.flush();
    await expect(repo.loadTree(id)).rejects.toThrow(IntegrityError);
    await expect(repo.loadTree(id)).rejects.toThrow(id);
    await repo.close();
  });
});

describe("compareNames", () => {
  it("orders like the UTF-8 bytes of the names, with and without surrogates", () => {
    const pieces = [
      "a",
      "B",
      "~",
      "\u00e9",
      "\u07ff",
      "\u0800",
      "\ue000",
      "\uffff",
      "\u{1f600}",
      "\u{10000}",
      "\udc80",
      "\udcff",
      "",
    ];
    const names: string[] = [];
    for (const x of pieces) for (const y of pieces) for (const z of ["", "\udc90"]) names.push(x + y + z);
    const wrong: string[] = [];
    for (const a of names) {
      for (const b of names) {
        const bytes = Math.sign(Buffer.compare(nameSortKey(a), nameSortKey(b)));
        if (Math.sign(compareNames(a, b)) !== bytes)
          wrong.push(`${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
      }
    }
    expect(names.length).toBe(338);
    expect(wrong).toEqual([]);
  });
});
