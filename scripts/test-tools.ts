/**
 * What `npm test` needs besides npm packages: a Chromium for the end-to-end tests, and `shellcheck`
 * and `systemd-analyze` for the installer tests. On a fresh Debian machine run as root the test
 * command installs what is missing with apt-get (saying so); elsewhere it stops at once with the
 * exact command to run, before minutes of other checks.
 */
import { accessSync, constants, existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

type Env = Record<string, string | undefined>;

/** A missing tool and the Debian package that provides it. */
export interface Tool {
  /** What it is for, in the message. */
  purpose: string;
  aptPackage: string;
  /** Where it is, or undefined. */
  find(): string | undefined;
}

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** First executable named `name` on PATH. */
export function onPath(name: string, env: Env): string | undefined {
  for (const dir of (env.PATH ?? "").split(":").filter(Boolean)) {
    if (isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** Chromium binaries under Playwright's browser cache (`npx playwright install chromium`). */
export function playwrightChromiums(cacheDir: string): string[] {
  if (!existsSync(cacheDir)) return [];
  const found: string[] = [];
  for (const build of readdirSync(cacheDir)
    .filter((d) => d.startsWith("chromium-"))
    .sort()
    .reverse()) {
    for (const platform of ["chrome-linux64", "chrome-linux", "chrome-linux-arm64"]) {
      found.push(join(cacheDir, build, platform, "chrome"));
    }
    for (const mac of ["chrome-mac-arm64", "chrome-mac-x64", "chrome-mac"]) {
      found.push(join(cacheDir, build, mac, "Chromium.app", "Contents", "MacOS", "Chromium"));
    }
  }
  return found.filter(isExecutable);
}

export function playwrightCacheDir(env: Env, platform = process.platform, home = homedir()): string {
  if (env.PLAYWRIGHT_BROWSERS_PATH) return env.PLAYWRIGHT_BROWSERS_PATH;
  return platform === "darwin"
    ? join(home, "Library", "Caches", "ms-playwright")
    : join(env.XDG_CACHE_HOME || join(home, ".cache"), "ms-playwright");
}

export class ToolError extends Error {}

/**
 * The browser for Playwright: CHROMIUM_PATH (which must then be right: a wrong explicit setting is
 * an error, not a reason to look elsewhere), Debian's /usr/bin/chromium, then Playwright's cache.
 */
export function findChromium(env: Env, systemPaths = ["/usr/bin/chromium"]): string | undefined {
  if (env.CHROMIUM_PATH) {
    if (isExecutable(env.CHROMIUM_PATH)) return env.CHROMIUM_PATH;
    throw new ToolError(`CHROMIUM_PATH=${env.CHROMIUM_PATH} is not an executable file`);
  }
  return systemPaths.find(isExecutable) ?? playwrightChromiums(playwrightCacheDir(env))[0];
}

export function testTools(env: Env): Tool[] {
  return [
    { purpose: "the end-to-end tests (a Chromium)", aptPackage: "chromium", find: () => findChromium(env) },
    {
      purpose: "the installer tests (shellcheck)",
      aptPackage: "shellcheck",
      find: () => onPath("shellcheck", env),
    },
    {
      purpose: "the installer tests (systemd-analyze verify)",
      aptPackage: "systemd",
      find: () => onPath("systemd-analyze", env),
    },
  ];
}

/** How missing packages can be installed here: as root with apt-get, or not at all. */
export function installPlan(packages: string[], env: Env, uid: number): { command: string[]; auto: boolean } {
  const command = ["apt-get", "install", "-y", ...packages];
  const auto = uid === 0 && onPath("apt-get", env) !== undefined;
  return { command, auto };
}

export function manualCommand(packages: string[]): string {
  return `sudo apt-get update && sudo apt-get install -y ${packages.join(" ")}`;
}

/**
 * Makes sure every tool is present, installing the missing ones when root with apt-get.
 * Returns the Chromium path to hand to Playwright; throws ToolError with the command otherwise.
 */
export function ensureTestTools(env: Env, uid: number, log: (line: string) => void): string {
  const tools = testTools(env);
  const missing = tools.filter((t) => t.find() === undefined);
  if (missing.length > 0) {
    const packages = missing.map((t) => t.aptPackage);
    const plan = installPlan(packages, env, uid);
    const why = missing.map((t) => t.purpose).join(", ");
    if (!plan.auto) {
      throw new ToolError(
        `missing for ${why}. Install with:\n  ${manualCommand(packages)}\n(or set CHROMIUM_PATH to a Chromium)`,
      );
    }
    log(
      `== installing Debian's ${packages.join(", ")} for ${why}: apt-get update && ${plan.command.join(" ")}`,
    );
    const aptEnv = { ...env, DEBIAN_FRONTEND: "noninteractive" };
    for (const cmd of [["apt-get", "update", "-qq"], plan.command]) {
      const r = Bun.spawnSync(cmd, { env: aptEnv, stdout: "inherit", stderr: "inherit" });
      if (r.exitCode !== 0) throw new ToolError(`${cmd.join(" ")} failed (exit ${r.exitCode})`);
    }
    const still = missing.filter((t) => t.find() === undefined);
    if (still.length > 0)
      throw new ToolError(`still missing after apt-get: ${still.map((t) => t.aptPackage)}`);
  }
  return findChromium(env) as string;
}
