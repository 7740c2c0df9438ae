/**
 * install.sh with the real compiled binary, a temporary HOME and prefix, and a release base URL
 * served by a real HTTP listener on loopback. systemd is not PID 1 here, so `systemctl` is a
 * stand-in on PATH (test/fixtures/service-shim) that records calls and starts the unit's
 * ExecStart line as a plain process: the unit, the binary, the checksums, the health check,
 * upgrade and rollback are all real.
 */

import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { compiledBinary, hostTarget } from "./helpers/binary.ts";
import { tempDir } from "./helpers/temp.ts";

const root = join(import.meta.dirname, "..");
const shim = join(root, "test", "fixtures", "service-shim");
const name = `backapp-${hostTarget()}`;
const dirs: { path: string; cleanup(): void }[] = [];
let binary: string;
let release: ReturnType<typeof Bun.serve>;
let releaseDir: string;

beforeAll(() => {
  binary = compiledBinary();
  const d = tempDir();
  dirs.push(d);
  releaseDir = d.path;
  copyFileSync(binary, join(releaseDir, name));
  writeFileSync(join(releaseDir, "SHA256SUMS"), `${sha256(binary)}  ${name}\n`);
  // /bad/ serves the same binary with a wrong checksum.
  release = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/bad/SHA256SUMS") return new Response(`${"0".repeat(64)}  ${name}\n`);
      const file = join(releaseDir, path.replace(/^\/(bad\/)?/, ""));
      return existsSync(file) ? new Response(Bun.file(file)) : new Response("not found", { status: 404 });
    },
  });
}, 300_000);

afterAll(() => {
  release?.stop(true);
  for (const d of dirs.splice(0)) d.cleanup();
});

const homes: Home[] = [];
afterEach(async () => {
  // Never leave a server running: stop whatever the stand-in started.
  for (const h of homes.splice(0)) await h.systemctl("stop");
});

function sha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

function freePort(): number {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = s.port as number;
  s.stop(true);
  return port;
}

interface Run {
  code: number;
  out: string;
  err: string;
}

/** A temporary HOME with its own prefix, service stand-in state and port. */
interface Home {
  path: string;
  shimDir: string;
  prefix: string;
  port: number;
  env: Record<string, string>;
  install(args: string[]): Promise<Run>;
  systemctl(...args: string[]): Promise<Run>;
  calls(): string[];
}

async function run(cmd: string[], env: Record<string, string>): Promise<Run> {
  const p = Bun.spawn(cmd, { env, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { code, out, err };
}

function newHome(): Home {
  const d = tempDir("backapp-install-");
  dirs.push(d);
  const port = freePort();
  // The stand-in's own state (calls, pid, server log) lives beside HOME, not in it.
  const path = join(d.path, "home");
  const shimDir = join(d.path, "shim");
  mkdirSync(path);
  mkdirSync(shimDir);
  const env = {
    PATH: `${shim}:/usr/local/bin:/usr/bin:/bin`,
    HOME: path,
    SHIM_DIR: shimDir,
    BACKAPP_HEALTH_TIMEOUT: "20",
  };
  const calls = join(shimDir, "calls.log");
  const home: Home = {
    path,
    shimDir,
    prefix: join(path, "bin"),
    port,
    env,
    install: (args) =>
      run(["sh", join(root, "install.sh"), "--user", "--prefix", join(path, "bin"), ...args], env),
    systemctl: (...args) => run([join(shim, "systemctl"), "--user", ...args], env),
    calls: () => (existsSync(calls) ? readFileSync(calls, "utf8").split("\n") : []),
  };
  homes.push(home);
  return home;
}

const unitFile = (h: Home) => join(h.path, ".config", "systemd", "user", "backapp.service");
const dataDir = (h: Home) => join(h.path, ".local", "share", "backapp");

async function healthz(port: number): Promise<number> {
  return (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.status ?? 0;
}

/** path, type, mode, size and mtime of everything below `dir`: enough to see any change. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { recursive: true, encoding: "utf8" }).sort()) {
    const st = lstatSync(join(dir, entry));
    out.push(`${entry} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs}`);
  }
  return out;
}

// Each step runs the 100+ MB binary several times; on a loaded machine that takes a while.
describe("install.sh", { timeout: 180_000 }, () => {
  it("is clean under shellcheck (and so is the systemctl stand-in)", () => {
    const r = Bun.spawnSync(["shellcheck", "install.sh", "test/fixtures/service-shim/systemctl"], {
      cwd: root,
    });
    expect(r.stdout.toString() + r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
  });

  it("--binary --user --no-start installs the binary and a user unit that systemd-analyze verify accepts", async () => {
    const h = newHome();
    const r = await h.install(["--binary", binary, "--no-start", "--listen", `127.0.0.1:${h.port}`]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain("installed without starting (--no-start)");
    expect(sha256(join(h.prefix, "backapp"))).toBe(sha256(binary));
    const unit = readFileSync(unitFile(h), "utf8");
    expect(unit).toContain(
      `ExecStart=${h.prefix}/backapp serve --listen 127.0.0.1:${h.port} --data-dir ${dataDir(h)}`,
    );
    expect(unit).toContain("WantedBy=default.target");
    expect(existsSync(dataDir(h))).toBe(true);
    expect(h.calls()).toContain("systemctl --user enable backapp.service");
    expect(h.calls().some((c) => c.includes(" start"))).toBe(false);
    // A user manager needs a runtime dir; none exists in the sandbox, so give it one.
    const runtime = join(h.shimDir, "runtime");
    mkdirSync(runtime, { mode: 0o700 });
    const verify = Bun.spawnSync(["systemd-analyze", "verify", "--user", unitFile(h)], {
      env: { ...h.env, PATH: "/usr/bin:/bin", XDG_RUNTIME_DIR: runtime },
    });
    expect(verify.stderr.toString()).toBe("");
    expect(verify.exitCode).toBe(0);
  });

  it("downloads from --url, verifies SHA256SUMS, starts the service and prints the URL and setup token", async () => {
    const h = newHome();
    const base = `http://127.0.0.1:${release.port}`;
    const r = await h.install(["--url", base, "--listen", `127.0.0.1:${h.port}`]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain(`is running at http://127.0.0.1:${h.port}`);
    expect(r.out).toMatch(
      new RegExp(`open http://127\\.0\\.0\\.1:${h.port}/setup and enter the setup token [a-z0-9]{20,}`),
    );
    expect(await healthz(h.port)).toBe(200);
    expect(h.calls()).toContain("systemctl --user start backapp.service");
  });

  it("aborts on a checksum mismatch and installs nothing", async () => {
    const h = newHome();
    const before = snapshot(h.path);
    const r = await h.install(["--url", `http://127.0.0.1:${release.port}/bad`]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`checksum mismatch for ${name}`);
    expect(r.err).toContain("refusing to install");
    expect(snapshot(h.path)).toEqual(before);
  });

  it("--dry-run prints every action and changes nothing, on a fresh install and on an upgrade", async () => {
    const h = newHome();
    const before = snapshot(h.path);
    const fresh = await h.install(["--binary", binary, "--dry-run", "--listen", `127.0.0.1:${h.port}`]);
    expect(fresh.code).toBe(0);
    expect(fresh.out).toContain(`would run: mv -f ${h.prefix}/backapp.new.`);
    expect(fresh.out).toContain(`would write ${unitFile(h)}:`);
    expect(fresh.out).toContain("would systemctl --user enable backapp.service");
    expect(fresh.out).toContain("dry run: nothing was changed");
    expect(snapshot(h.path)).toEqual(before);

    expect(
      (await h.install(["--binary", binary, "--no-start", "--listen", `127.0.0.1:${h.port}`])).code,
    ).toBe(0);
    const installed = snapshot(h.path);
    const upgrade = await h.install(["--binary", binary, "--dry-run"]);
    expect(upgrade.code).toBe(0);
    expect(upgrade.out).toContain(`would run: mv -f ${h.prefix}/backapp.previous.new.`);
    const uninstall = await h.install(["--uninstall", "--purge", "--dry-run"]);
    expect(uninstall.code).toBe(0);
    expect(uninstall.out).toContain(`would run: rm -rf ${dataDir(h)}`);
    expect(snapshot(h.path)).toEqual(installed);
  });

  it("--system --dry-run shows the system unit (root, hardening, /var/lib/backapp) and writes nothing", async () => {
    const h = newHome();
    const r = await run(
      ["sh", join(root, "install.sh"), "--system", "--dry-run", "--binary", binary, "--prefix", h.prefix],
      h.env,
    );
    expect(r.code).toBe(0);
    expect(r.out).toContain("would write /etc/systemd/system/backapp.service:");
    expect(r.out).toContain(
      `ExecStart=${h.prefix}/backapp serve --listen 127.0.0.1:8080 --data-dir /var/lib/backapp`,
    );
    expect(r.out).toContain("ProtectSystem=full");
    expect(r.out).toContain("would systemctl enable backapp.service");
    expect(existsSync(h.prefix)).toBe(false);
  });

  it("upgrades in place keeping backapp.previous, rolls back a new binary that fails its health check, uninstalls keeping the data", {
    timeout: 300_000,
  }, async () => {
    const h = newHome();
    const listen = ["--listen", `127.0.0.1:${h.port}`];
    expect((await h.install(["--binary", binary, ...listen])).code).toBe(0);
    expect(await healthz(h.port)).toBe(200);

    // A second run: stop, keep the old binary, swap, start, healthy. --listen is kept from the unit.
    const again = await h.install(["--binary", binary]);
    expect(again.err).toBe("");
    expect(again.code).toBe(0);
    expect(again.out).toContain(`the old binary is kept as ${h.prefix}/backapp.previous`);
    expect(sha256(join(h.prefix, "backapp.previous"))).toBe(sha256(binary));
    expect(await healthz(h.port)).toBe(200);
    const calls = h.calls();
    expect(calls.lastIndexOf("systemctl --user stop backapp.service")).toBeLessThan(
      calls.lastIndexOf("systemctl --user start backapp.service"),
    );

    // A "new" release whose server cannot start: everything else is the real binary.
    const broken = join(h.path, "release", name);
    mkdirSync(join(h.path, "release"));
    writeFileSync(
      broken,
      `#!/bin/sh\ncase "$1" in --version) echo "backapp 9.9.9+broken" ;; serve) echo "cannot start" >&2; exit 1 ;; *) exec ${binary} "$@" ;; esac\n`,
      { mode: 0o755 },
    );
    const bad = await h.install(["--binary", broken, "--timeout", "3"]);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain("9.9.9+broken did not answer on /healthz within 3s: rolling back");
    expect(bad.err).toContain("rolled back: backapp 0.1.0");
    expect(bad.err).toContain("is running again");
    expect(sha256(join(h.prefix, "backapp"))).toBe(sha256(binary));
    expect(readFileSync(unitFile(h), "utf8")).toContain(`ExecStart=${h.prefix}/backapp serve`);
    expect(await healthz(h.port)).toBe(200);

    const gone = await h.install(["--uninstall"]);
    expect(gone.code).toBe(0);
    expect(gone.out).toContain(`your data stays in ${dataDir(h)}`);
    expect(await healthz(h.port)).toBe(0);
    expect(existsSync(join(h.prefix, "backapp"))).toBe(false);
    expect(existsSync(join(h.prefix, "backapp.previous"))).toBe(false);
    expect(existsSync(unitFile(h))).toBe(false);
    expect(existsSync(join(dataDir(h), "backapp.db"))).toBe(true);
    // The server got SIGTERM and ended cleanly (its log says so), before SIGKILL was needed.
    expect(readFileSync(join(h.shimDir, "server.log"), "utf8")).toContain('"msg":"backapp stopped"');
    expect(h.calls().some((c) => c.startsWith("SIGKILL"))).toBe(false);
  });

  it("--uninstall --purge also deletes the data dir", async () => {
    const h = newHome();
    expect((await h.install(["--binary", binary, "--no-start"])).code).toBe(0);
    const r = await h.install(["--uninstall", "--purge"]);
    expect(r.code).toBe(0);
    expect(existsSync(dataDir(h))).toBe(false);
    expect(existsSync(join(h.prefix, "backapp"))).toBe(false);
  });

  it("rejects unknown options and --purge alone with exit 2, and needs a source", async () => {
    const h = newHome();
    expect((await h.install(["--bogus"])).code).toBe(2);
    expect((await h.install(["--purge"])).code).toBe(2);
    const r = await h.install([]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("--url");
  });
});
