/**
 * Smoke test of a compiled binary, as CI runs it: the binary is copied alone into an empty temp
 * dir; a backup is made and restored (the seal worker must load from inside the binary); the
 * server is started with a temp data dir, /healthz must answer 200, a page and the htmx asset must load,
 * and SIGTERM must stop it cleanly. Prints binary size, cold start time and idle RSS.
 * Usage: bun scripts/smoke-binary.ts [--via EMULATOR] dist/backapp-linux-x64
 * --via runs the binary through an emulator (qemu-aarch64-static for linux-arm64 on an x64 host),
 * with waits stretched to match.
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";

const viaAt = process.argv.indexOf("--via");
/** Command prefix that runs the binary (an emulator), or nothing. */
const via = viaAt > 0 ? [process.argv[viaAt + 1] ?? ""] : [];
/** Emulated, everything takes several times longer. */
const slow = via.length > 0 ? 6 : 1;

function fail(message: string): never {
  console.error(`smoke: FAIL: ${message}`);
  process.exit(1);
}

async function readUntilListening(stream: ReadableStream<Uint8Array>, timeoutMs: number): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const timer = setTimeout(() => reader.cancel(), timeoutMs);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    const m = /"url":"(http:\/\/[^"]+)".*"msg":"backapp listening"/.exec(text);
    if (m?.[1]) {
      clearTimeout(timer);
      reader.releaseLock();
      return m[1];
    }
  }
  return fail(`server did not report listening:\n${text}`);
}

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

/** init, backup (sealed in the worker thread the binary embeds), restore: the bytes come back. */
function backupRoundTrip(binary: string, work: string): void {
  const env = { PATH: "/usr/bin:/bin", HOME: work, BACKAPP_PASSWORD: "smoke test passphrase" };
  const tree = join(work, "tree");
  mkdirSync(join(tree, "sub"), { recursive: true });
  const big = randomBytes(3 * 2 ** 20);
  writeFileSync(join(tree, "big.bin"), big);
  writeFileSync(join(tree, "sub", "note.txt"), "hello from the smoke test\n");
  const repo = join(work, "repo");
  for (const args of [
    ["init", "--repo", repo],
    ["backup", "--repo", repo, tree],
    ["restore", "--repo", repo, "latest", "--target", join(work, "restored"), "--verify"],
  ]) {
    const r = Bun.spawnSync([...via, binary, ...args], { cwd: work, env });
    if (!r.success) fail(`${args[0]} exited ${r.exitCode}: ${r.stderr.toString()}`);
  }
  const back = readFileSync(join(work, "restored", tree, "big.bin"));
  if (!back.equals(big)) fail("the restored file differs from the original");
}

async function main() {
  const source = resolve(
    process.argv.slice(2).filter((a, i, all) => a !== "--via" && all[i - 1] !== "--via")[0] ??
      fail("usage: smoke-binary.ts [--via EMULATOR] BINARY"),
  );
  const work = mkdtempSync(join(tmpdir(), "backapp-smoke-"));
  const binary = join(work, basename(source));
  copyFileSync(source, binary);
  const dataDir = join(work, "data");
  // The binary must ignore Bun's runtime config files in its cwd: a bunfig.toml `preload` would run code.
  writeFileSync(join(work, "bunfig.toml"), 'preload = ["./preload.ts"]\n');
  writeFileSync(join(work, "preload.ts"), 'console.log("PRELOAD RAN");\n');
  writeFileSync(join(work, ".env"), "BACKAPP_LOG_LEVEL=not-a-level\n");
  try {
    const version = Bun.spawnSync([...via, binary, "--version"], { cwd: work });
    if (!version.success || !/^backapp \d+\.\d+\.\d+\+[\w-]+\n$/.test(version.stdout.toString())) {
      fail(`--version printed ${version.stdout.toString()}${version.stderr.toString()}`);
    }
    const bad = Bun.spawnSync([...via, binary, "serve", "--nope"], { cwd: work });
    if (bad.exitCode !== 2) fail(`a bad flag exited ${bad.exitCode}, expected 2`);
    const unknown = Bun.spawnSync([...via, binary, "frobnicate"], { cwd: work });
    if (unknown.exitCode !== 2) fail(`an unknown command exited ${unknown.exitCode}, expected 2`);
    backupRoundTrip(binary, work);

    const started = performance.now();
    const proc = Bun.spawn([...via, binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir], {
      cwd: work,
      env: { PATH: "/usr/bin:/bin", HOME: work },
      stdout: "pipe",
      stderr: "inherit",
    });
    const url = await readUntilListening(proc.stdout, 20_000 * slow);
    let health = await fetch(`${url}/healthz`).catch(() => null);
    while (health?.status !== 200) {
      if (performance.now() - started > 20_000 * slow) fail("/healthz never answered 200");
      await Bun.sleep(20);
      health = await fetch(`${url}/healthz`).catch(() => null);
    }
    const coldStartMs = performance.now() - started;
    const body = (await health.json()) as { status: string; version: string };
    if (body.status !== "ok") fail(`/healthz said ${JSON.stringify(body)}`);

    const page = await fetch(`${url}/`);
    const html = await page.text();
    if (page.status !== 200 || !html.includes("<!doctype html>")) fail(`GET / answered ${page.status}`);
    const htmxPath = /src="(\/static\/[0-9a-f]+\/htmx\.min\.js)"/.exec(html)?.[1];
    if (!htmxPath) fail("the page does not load htmx");
    const htmx = await fetch(`${url}${htmxPath}`);
    if (htmx.status !== 200 || (await htmx.text()).length < 10_000)
      fail(`htmx asset answered ${htmx.status}`);
    const css = /href="(\/static\/[0-9a-f]+\/app\.css)"/.exec(html)?.[1];
    if (!css || (await fetch(`${url}${css}`)).status !== 200) fail("the stylesheet does not load");
    if ((await fetch(`${url}/static/000000000000/app.css`)).status !== 404)
      fail("a stale asset hash did not 404");
    const api404 = await fetch(`${url}/api/nothing-here`);
    if (api404.status !== 404 || !(api404.headers.get("content-type") ?? "").includes("json"))
      fail(`/api 404 answered ${api404.status} ${api404.headers.get("content-type")}`);

    await Bun.sleep(500);
    const rss = rssKiB(proc.pid);
    proc.kill("SIGTERM");
    const exit = await Promise.race([proc.exited, Bun.sleep(10_000 * slow).then(() => "timeout" as const)]);
    if (exit !== 0) fail(`SIGTERM: exit ${exit}`);
    const size = statSync(source).size;
    console.log(
      `smoke: OK ${body.version}: size ${(size / 2 ** 20).toFixed(1)} MiB, cold start to /healthz 200 ${coldStartMs.toFixed(0)} ms, idle RSS ${(rss / 1024).toFixed(1)} MiB`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
