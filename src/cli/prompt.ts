/** Reads a password from the terminal without echoing it. Only used when stdin is a TTY. */

/** The part of a TTY read stream the prompt uses (process.stdin in production). */
export interface RawInput {
  isTTY?: boolean;
  setRawMode(mode: boolean): unknown;
  setEncoding(encoding: BufferEncoding): unknown;
  resume(): unknown;
  pause(): unknown;
  on(event: "data", listener: (chunk: string) => void): unknown;
  off(event: "data", listener: (chunk: string) => void): unknown;
}

export function stdinIsTTY(input: Pick<RawInput, "isTTY"> = process.stdin): boolean {
  return Boolean(input.isTTY);
}

/** Enter ends the input, Backspace deletes, Ctrl-C rejects; nothing typed is echoed. */
export function promptHidden(
  question: string,
  write: (text: string) => void,
  input: RawInput = process.stdin as unknown as RawInput,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = "";
    write(question);
    input.setRawMode(true);
    input.setEncoding("utf8");
    input.resume();
    const done = (error?: Error) => {
      input.setRawMode(false);
      input.pause();
      input.off("data", onData);
      write("\n");
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003") return done(new Error("cancelled"));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    input.on("data", onData);
  });
}
