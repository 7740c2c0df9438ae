/**
 * The server's side of a download child (download-child.ts): starts `backapp __run`, writes the
 * spec on stdin (it holds the passphrase: never argv or the environment), waits for the header
 * line, and hands back the rest of stdout as the body. Before the header nothing is sent to the
 * client, so a missing path is still a clean 404/400. The body is pulled: the child's writes wait
 * for the pipe, so memory stays flat on both sides. Cancelling the body (the client left) or the
 * request's signal stops the child: stdin closes (the child aborts), then SIGTERM, then SIGKILL.
 */
import { NotFoundError, ValidationError } from "../util/errors.ts";
import type { DownloadHeader, DownloadSpec } from "./download-protocol.ts";
import { tail } from "./run-process.ts";

export interface ChildDownload {
  kind: "file" | "tar";
  name: string;
  size: number | null;
  stream: ReadableStream<Uint8Array>;
}

/** After a cancel: SIGKILL if the child did not end on SIGTERM within this long. */
const KILL_AFTER_MS = 3000;
/** A header longer than this is not ours. */
const MAX_HEADER = 256 * 1024;

type Reader = ReadableStreamDefaultReader<Uint8Array>;

/** The header line and the bytes after it. */
async function readHeader(reader: Reader): Promise<{ header: DownloadHeader; rest: Uint8Array }> {
  let buffered = new Uint8Array(0);
  for (;;) {
    const nl = buffered.indexOf(10);
    if (nl >= 0) {
      const header = JSON.parse(new TextDecoder().decode(buffered.subarray(0, nl))) as DownloadHeader;
      return { header, rest: buffered.subarray(nl + 1) };
    }
    if (buffered.length > MAX_HEADER) throw new Error("the download child's header is too long");
    const r = await reader.read();
    if (r.done) throw new Error("the download child ended before its header");
    buffered = Buffer.concat([buffered, r.value]);
  }
}

function failureError(header: Extract<DownloadHeader, { type: "failed" }>): Error {
  if (header.kind === "not-found") return new NotFoundError(header.message);
  if (header.kind === "invalid") return new ValidationError(header.message);
  return new Error(`download: ${header.message}`);
}

/**
 * Starts a download in a child. Resolves once the child said what it sends (or rejects with
 * NotFoundError / ValidationError / Error when it cannot). `onEnd` runs once when the child is
 * done with, however it ended (a slot to give back).
 */
export async function startChildDownload(
  command: string[],
  spec: DownloadSpec,
  options: { signal?: AbortSignal; onEnd?: () => void; cwd?: string } = {},
): Promise<ChildDownload> {
  // The child runs in the server's data dir: it needs no folder of its own, and a process list
  // then tells which server a child belongs to.
  const proc = Bun.spawn(command, { stdin: "pipe", stdout: "pipe", stderr: "pipe", cwd: options.cwd });
  const stderr = tail(proc.stderr);
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    options.signal?.removeEventListener("abort", stop);
    if (proc.exitCode === null && proc.signalCode === null) {
      void Promise.resolve(proc.stdin.end()).catch(() => {});
      proc.kill("SIGTERM");
      setTimeout(() => proc.kill("SIGKILL"), KILL_AFTER_MS).unref();
    }
    options.onEnd?.();
  };
  if (options.signal?.aborted) stop();
  options.signal?.addEventListener("abort", stop, { once: true });
  proc.stdin.write(`${JSON.stringify(spec)}\n`);
  void proc.stdin.flush();
  const reader = proc.stdout.getReader();
  let first: Awaited<ReturnType<typeof readHeader>>;
  try {
    first = await readHeader(reader);
  } catch (e) {
    stop();
    await proc.exited;
    throw new Error(`${(e as Error).message}: ${(await stderr).trim().slice(-500)}`);
  }
  if (first.header.type === "failed") {
    stop();
    throw failureError(first.header);
  }
  const { kind, name, size } = first.header;
  return { kind, name, size, stream: bodyStream(proc, reader, first.rest, size, stderr, stop) };
}

function bodyStream(
  proc: Bun.Subprocess<"pipe", "pipe", "pipe">,
  reader: Reader,
  first: Uint8Array,
  size: number | null,
  stderr: Promise<string>,
  stop: () => void,
): ReadableStream<Uint8Array> {
  let pending: Uint8Array | null = first.length > 0 ? first : null;
  let received = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        const r = pending ? { done: false as const, value: pending } : await reader.read();
        pending = null;
        if (!r.done) {
          received += r.value.length;
          c.enqueue(r.value);
          return;
        }
        // The end: a clean one only if the child exited 0 having sent every promised byte.
        const code = await proc.exited;
        stop();
        if (code !== 0 || (size !== null && received !== size)) {
          const why = (await stderr).trim().slice(-500) || `exit code ${code}`;
          c.error(new Error(`download broke off after ${received} bytes: ${why}`));
        } else c.close();
      },
      cancel() {
        stop();
        void reader.cancel().catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}
