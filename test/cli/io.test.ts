import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { stdoutWriter } from "../../src/cli/io.ts";

function pipe(fail: (chunk: string) => Error | null) {
  const got: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      const error = fail(String(chunk));
      if (!error) got.push(String(chunk));
      done(error);
    },
  });
  return { stream, got };
}

const epipe = () => Object.assign(new Error("EPIPE: broken pipe, write"), { code: "EPIPE" });
const tick = () => new Promise((r) => setTimeout(r, 10));

describe("stdoutWriter", () => {
  it("drops the rest of the output quietly once the reader has gone", async () => {
    const { stream, got } = pipe((chunk) => (chunk === "b\n" ? epipe() : null));
    const write = stdoutWriter(stream);
    write("a\n");
    write("b\n");
    await tick();
    write("c\n");
    await tick();
    expect(got).toEqual(["a\n"]);
  });

  it("drops output after a write that throws EPIPE at once", () => {
    let calls = 0;
    const stream = new Writable({ write: (_c, _e, done) => done() });
    stream.write = () => {
      calls++;
      throw epipe();
    };
    const write = stdoutWriter(stream);
    write("a\n");
    write("b\n");
    expect(calls).toBe(1);
  });

  it("does not hide other write errors", () => {
    const stream = new Writable({ write: (_c, _e, done) => done() });
    stream.write = () => {
      throw Object.assign(new Error("EIO"), { code: "EIO" });
    };
    expect(() => stdoutWriter(stream)("a\n")).toThrow("EIO");
  });
});
