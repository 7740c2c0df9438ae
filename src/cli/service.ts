import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseListen } from "../config/index.ts";
import {
  currentExecutable,
  defaultServiceScope,
  type ServicePaths,
  servicePaths,
  userName,
} from "../config/service.ts";
import {
  type Action,
  type CommandRunner,
  controlActions,
  describeAction,
  installActions,
  managerRunning,
  perform,
  ServiceError,
  serviceState,
  spawnRunner,
  uninstallActions,
} from "../service/manager.ts";
import { flagValue, installedArgs, type ServiceScope, type ServiceSpec } from "../service/units.ts";
import { systemClock } from "../util/clock.ts";
import type { ValidationError } from "../util/errors.ts";
import { buildCommit } from "../util/version.ts";
import { intFlag, parseFlags, UsageError } from "./args.ts";
import type { CliIo, Command } from "./io.ts";

const usage = `Usage: backapp service install|uninstall|start|stop|restart|status [--system|--user]
                       [--listen HOST:PORT] [--data-dir DIR] [--exec FILE] [--dry-run] [--wait SECS]

Runs backapp at boot under the system's service manager: a systemd unit on Linux, a launchd
plist on macOS. install writes it (keeping the --listen and --data-dir of an installed one unless
given) and enables it; uninstall stops and removes it and keeps the data; status prints the unit,
its state, the address and the data dir (exit 0 when running, 3 otherwise).

Flags:
  --system          system service, runs as root at boot (default as root):
                    /etc/systemd/system/backapp.service, data in /var/lib/backapp;
                    macOS /Library/LaunchDaemons/org.backapp.server.plist
  --user            this user's service (default otherwise): ~/.config/systemd/user/backapp.service,
                    data in the user's data dir; macOS ~/Library/LaunchAgents
  --listen H:P      address the service listens on (default 127.0.0.1:8080)
  --data-dir DIR    the service's data dir
  --exec FILE       the backapp executable the service runs (default: this one)
  --dry-run         print every action and change nothing
  --wait SECS       status: also wait up to SECS for /healthz to answer ("healthz: ok VERSION")
`;

const ACTIONS = ["install", "uninstall", "start", "stop", "restart", "status"] as const;
type Verb = (typeof ACTIONS)[number];

const DEFAULT_LISTEN = "127.0.0.1:8080";

export const serviceCommand: Command = {
  name: "service",
  summary: "install, start, stop or inspect backapp as a system or user service",
  usage,
  async run(argv, io) {
    return runService(argv, io, spawnRunner(io.env));
  },
};

export async function runService(argv: string[], io: CliIo, runner: CommandRunner): Promise<number> {
  const { flags, positionals } = parseFlags(argv, {
    system: { type: "boolean" },
    user: { type: "boolean" },
    listen: { type: "string" },
    "data-dir": { type: "string" },
    exec: { type: "string" },
    "dry-run": { type: "boolean" },
    wait: { type: "string" },
  });
  const [verb, extra] = positionals;
  if (!verb || !(ACTIONS as readonly string[]).includes(verb)) {
    throw new UsageError(`expected one of ${ACTIONS.join(", ")}${verb ? `, got "${verb}"` : ""}`);
  }
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  if (flags.system && flags.user) throw new UsageError("give --system or --user, not both");
  const scope: ServiceScope = flags.system ? "system" : flags.user ? "user" : defaultServiceScope();
  const paths = servicePaths(scope, io.env);
  const up = managerRunning(paths, runner);
  const dryRun = flags["dry-run"] === true;
  const apply = (actions: Action[]) => {
    if (dryRun) for (const a of actions) io.stdout(`would ${describeAction(a)}\n`);
    else perform(actions, runner);
  };
  switch (verb as Verb) {
    case "install": {
      const spec = installSpec(paths, flags);
      apply(installActions(paths, spec, up));
      if (!dryRun) reportInstalled(io, paths, spec, up);
      return 0;
    }
    case "uninstall": {
      // Read before the unit goes: it names the data dir in use.
      const { dataDir } = installedOrDefault(paths);
      apply(uninstallActions(paths, up));
      if (!dryRun) io.stdout(`removed ${paths.file}; the data stays in ${dataDir}\n`);
      return 0;
    }
    case "status": {
      const code = printStatus(io, paths, runner, up);
      const waitS = intFlag("wait", flags.wait, 0, 3600);
      return waitS === undefined ? code : waitHealthy(io, statusUrl(paths), waitS * 1000);
    }
    default: {
      if (!existsSync(paths.file))
        throw new ServiceError(`backapp is not installed as a ${scope} service (${paths.file})`);
      if (!up) throw new ServiceError(notRunningMessage(paths));
      apply(controlActions(paths, verb as "start" | "stop" | "restart"));
      return 0;
    }
  }
}

interface InstallFlags {
  listen?: string;
  "data-dir"?: string;
  exec?: string;
}

function installSpec(paths: ServicePaths, flags: InstallFlags): ServiceSpec {
  const kept = installedOrDefault(paths);
  const listen = flags.listen ?? kept.listen;
  try {
    parseListen(listen);
  } catch (error) {
    throw new UsageError((error as ValidationError).message);
  }
  const executable = resolve(flags.exec ?? currentExecutable());
  // From source the running executable is bun itself, which cannot serve without the sources.
  if (buildCommit === "dev" && flags.exec === undefined) {
    throw new UsageError("run `service install` from the compiled backapp binary, or give --exec FILE");
  }
  const dataDir = resolve(flags["data-dir"] ?? kept.dataDir);
  return {
    scope: paths.scope,
    executable,
    listen,
    dataDir,
    ...(paths.logDir ? { logDir: paths.logDir } : {}),
  };
}

/** The listen address and data dir of the installed unit, else the defaults. */
function installedOrDefault(paths: ServicePaths): { listen: string; dataDir: string; installed: boolean } {
  const args = existsSync(paths.file) ? installedArgs(readFileSync(paths.file, "utf8")) : [];
  return {
    listen: flagValue(args, "--listen") ?? DEFAULT_LISTEN,
    dataDir: flagValue(args, "--data-dir") ?? paths.dataDir,
    installed: args.length > 0,
  };
}

function notRunningMessage(paths: ServicePaths): string {
  const name =
    paths.manager === "systemd" ? `systemd${paths.scope === "user" ? " (user instance)" : ""}` : "launchd";
  return `${name} is not running here, so the service cannot be controlled; start the server another way, e.g. \`backapp serve\``;
}

function reportInstalled(io: CliIo, paths: ServicePaths, spec: ServiceSpec, up: boolean): void {
  io.stdout(`wrote ${paths.file} (listen ${spec.listen}, data dir ${spec.dataDir})\n`);
  if (!up) {
    io.stdout(`${notRunningMessage(paths)}\n`);
    return;
  }
  io.stdout(
    `enabled at ${paths.scope === "system" ? "boot" : "login"}; start it now with: backapp service start --${paths.scope}\n`,
  );
  if (paths.manager === "systemd" && paths.scope === "user") {
    io.stdout(`to start it at boot without logging in: loginctl enable-linger ${userName(io.env)}\n`);
  }
}

/** Where this machine reaches the service: all interfaces include loopback. */
function statusUrl(paths: ServicePaths): string {
  const { host, port } = parseListen(installedOrDefault(paths).listen);
  const reach = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  return `http://${reach.includes(":") ? `[${reach}]` : reach}:${port}`;
}

const POLL_MS = 200;

/**
 * `status --wait N`: polls /healthz until it answers ok, for N seconds at most. Prints
 * "healthz: ok VERSION" (install.sh compares the version, so an old server still answering does
 * not count) and exits 0, or exits 3.
 */
async function waitHealthy(io: CliIo, url: string, waitMs: number): Promise<number> {
  const deadline = systemClock.now() + waitMs;
  for (;;) {
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) });
      const body = (await res.json()) as { status?: string; version?: string };
      if (res.ok && body.status === "ok") {
        io.stdout(`healthz: ok ${body.version}\n`);
        return 0;
      }
    } catch {
      // not up yet
    }
    if (systemClock.now() >= deadline) break;
    await Bun.sleep(POLL_MS);
  }
  io.stdout(`healthz: no answer within ${Math.round(waitMs / 1000)} s\n`);
  return 3;
}

function printStatus(io: CliIo, paths: ServicePaths, runner: CommandRunner, up: boolean): number {
  const kept = installedOrDefault(paths);
  const { state, enabled } = serviceState(paths, runner, up);
  const logs =
    paths.manager === "systemd"
      ? `journalctl ${paths.scope === "user" ? "--user " : ""}-u backapp`
      : `${paths.logDir}/backapp.log`;
  io.stdout(
    [
      `manager: ${paths.manager} (${paths.scope})${up ? "" : ", not running here"}`,
      `unit: ${paths.file}${kept.installed ? "" : " (not installed)"}`,
      `state: ${kept.installed ? state : "not installed"}`,
      `enabled: ${kept.installed ? enabled : "no"}`,
      `listen: ${kept.listen}`,
      `url: ${statusUrl(paths)}`,
      `data dir: ${kept.dataDir}`,
      `logs: ${logs}`,
      "",
    ].join("\n"),
  );
  return kept.installed && state === "active" ? 0 : 3;
}
