/**
 * A real server process (`bun src/main.ts serve`, as a service unit starts the binary) on a free
 * loopback port, and a poll of its database from beside it. Tests kill it in the middle of things.
 */
import { Database } from "bun:sqlite";
import { bunPath, mainPath } from "./cli.ts";

/** Starts `serve` on `dataDir`; resolves once it logged "backapp listening". */
export async function spawnServer(dataDir: string): Promise<ReturnType<typeof Bun.spawn>> {
  return (await spawnServerWithUrl(dataDir)).proc;
}

/** spawnServer, also giving the URL the server logged. */
export async function spawnServerWithUrl(
  dataDir: string,
): Promise<{ proc: ReturnType<typeof Bun.spawn>; url: string }> {
  const proc = Bun.spawn([bunPath, mainPath, "serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0"], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  let url: string | null = null;
  while (url === null) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited: ${text}`);
    text += new TextDecoder().decode(value);
    url = listeningUrl(text);
  }
  void (async () => {
    while (!(await reader.read()).done) {}
  })();
  return { proc, url };
}

/** The URL of the complete "backapp listening" log line in `text`, or null. */
function listeningUrl(text: string): string | null {
  for (const line of text.split("\n")) {
    if (!line.includes("backapp listening")) continue;
    try {
      return String((JSON.parse(line) as { url: unknown }).url);
    } catch {
      // The line is not complete yet.
    }
  }
  return null;
}

/** Polls the database (read-only, beside the server) until `query` returns a row. */
export async function waitForRow<T>(dbPath: string, query: string, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const db = new Database(dbPath, { readonly: true });
    try {
      const row = db.query(query).get() as T | null;
      if (row) return row;
    } catch {
      // The server may be migrating or checkpointing: try again.
    } finally {
      db.close();
    }
    await Bun.sleep(200);
  }
  throw new Error(`no row for ${query}`);
}
