import { describe, expect, it } from "vitest";
import { displayPath, joinBytes, nameFromBytes, nameToBytes } from "../../../src/engine/scan/names.ts";
import { decodeTree, encodeTree } from "../../../src/engine/tree.ts";

const CASES: number[][] = [
  [0x61, 0x62],
  [0xff],
  [0x61, 0xff, 0xfe, 0x62],
  [0xc3, 0xa9], // "é" valid
  [0xe9], // latin-1 "é"
  [0xc3], // truncated sequence
  [0xed, 0xa0, 0x80], // encoded surrogate: invalid UTF-8
  [0xf0, 0x9f, 0x98, 0x80, 0x80], // emoji then a stray continuation byte
  [0xef, 0xbf, 0xbd], // a real U+FFFD
];

describe("byte names", () => {
  for (const bytes of CASES) {
    it(`round-trips ${Buffer.from(bytes).toString("hex")}`, () => {
      const name = nameFromBytes(Buffer.from(bytes));
      expect([...nameToBytes(name)]).toEqual(bytes);
      // and through a tree blob (JSON keeps lone surrogates as escapes)
      const node = {
        name,
        type: "symlink" as const,
        mode: 0,
        uid: 0,
        gid: 0,
        mtime: "0",
        ctime: "0",
        inode: 0,
        device: 0,
        size: 0,
        target: name,
      };
      const back = decodeTree(encodeTree({ nodes: [node] })).nodes[0]!;
      expect([...nameToBytes(back.name)]).toEqual(bytes);
    });
  }

  it("keeps valid UTF-8 names as they are", () => {
    expect(nameFromBytes(Buffer.from("ünï ✓ 😀"))).toBe("ünï ✓ 😀");
  });

  it("never maps two different byte names to the same string", () => {
    const names = CASES.map((b) => nameFromBytes(Buffer.from(b)));
    expect(new Set(names).size).toBe(CASES.length);
  });

  it("joins and displays byte paths", () => {
    expect(joinBytes(Buffer.from("/"), Buffer.from("a")).toString()).toBe("/a");
    expect(joinBytes(Buffer.from("/x"), Buffer.from("a")).toString()).toBe("/x/a");
    expect(displayPath(Buffer.from([0x2f, 0xff]))).toBe("/\ufffd");
    expect(displayPath("/s")).toBe("/s");
  });
});
