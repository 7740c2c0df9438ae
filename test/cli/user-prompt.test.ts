import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { promptHidden, type RawInput, stdinIsTTY } from "../../src/cli/prompt.ts";

/** A stand-in for a terminal's stdin (no pseudo-terminal is available to tests). */
function fakeTty() {
  const events = new EventEmitter();
  const modes: boolean[] = [];
  const input: RawInput & { type(text: string): void; modes: boolean[] } = {
    isTTY: true,
    modes,
    setRawMode: (m: boolean) => modes.push(m),
    setEncoding: () => undefined,
    resume: () => undefined,
    pause: () => undefined,
    on: (e, l) => events.on(e, l),
    off: (e, l) => events.off(e, l),
    type: (text: string) => events.emit("data", text),
  };
  return input;
}

describe("hidden password prompt", () => {
  it("reads until Enter, handles Backspace, echoes nothing and restores the terminal", async () => {
    const tty = fakeTty();
    let out = "";
    const p = promptHidden(
      "Password: ",
      (t) => {
        out += t;
      },
      tty,
    );
    tty.type("secreX");
    tty.type("\u007ft");
    tty.type(" value\rignored");
    expect(await p).toBe("secret value");
    expect(out).toBe("Password: \n");
    expect(tty.modes).toEqual([true, false]);
  });

  it("rejects on Ctrl-C", async () => {
    const tty = fakeTty();
    const p = promptHidden("Password: ", () => undefined, tty);
    tty.type("abc\u0003");
    await expect(p).rejects.toThrow("cancelled");
    expect(tty.modes).toEqual([true, false]);
  });

  it("knows whether stdin is a terminal", () => {
    expect(stdinIsTTY({ isTTY: true })).toBe(true);
    expect(stdinIsTTY({})).toBe(false);
  });
});
