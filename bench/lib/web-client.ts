/**
 * Shared bits of the web-latency benchmarks: a real server process from source, a signed-in
 * client that keeps its cookie and CSRF token, and timed GET rounds summarised as p50/p95/max.
 */
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "..", "..");
export const BUN = join(ROOT, "node_modules", ".bin", "bun");

export class Client {
  cookie = "";
  csrf = "";
  constructor(readonly base: string) {}

  async call(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { cookie: this.cookie, origin: this.base };
    if (this.csrf) headers["x-csrf-token"] = this.csrf;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(this.base + path, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      redirect: "manual",
    });
    const set = res.headers.getSetCookie();
    if (set.length > 0) this.cookie = set.map((c) => c.split(";")[0]).join("; ");
    return res;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.call(method, path, body)).json()) as T;
  }
}

/** `bun src/main.ts serve` on a free loopback port; resolves once it logged "backapp listening". */
export async function serveFromSource(dataDir: string) {
  const proc = Bun.spawn(
    [BUN, join(ROOT, "src/main.ts"), "serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0"],
    {
      stdout: "pipe",
      stderr: "inherit",
    },
  );
  const reader = proc.stdout.getReader();
  let text = "";
  while (!text.includes("backapp listening")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(text);
    text += new TextDecoder().decode(value);
  }
  void (async () => {
    while (!(await reader.read()).done) {}
  })();
  const logged = text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, string>);
  return {
    proc,
    url: logged.find((l) => l.url)?.url as string,
    setupToken: logged.find((l) => l.setupToken)?.setupToken as string,
  };
}

/** `count` GETs of `path`, `concurrency` at a time; each time in ms is pushed onto `times`. */
export async function timedGets(
  c: Client,
  path: string,
  count: number,
  concurrency: number,
  times: number[],
) {
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started++;
      const t = performance.now();
      const res = await c.call("GET", path);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
      times.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return times;
}

/** "p50 / p95 / max" in ms. */
export function summary(times: number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
  return [at(50), at(95), sorted.at(-1) ?? 0].map((x) => x.toFixed(1)).join(" / ");
}
