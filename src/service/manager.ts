/**
 * Installing, starting and inspecting backapp as a service. Every change is first a list of
 * actions (write a file, remove one, run systemctl/launchctl), so `--dry-run` prints exactly what
 * a real run does, and a real run performs that same list.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { ServicePaths } from "../config/service.ts";
import { BackappError } from "../util/errors.ts";
import { LAUNCHD_LABEL, launchdPlist, type ServiceSpec, SYSTEMD_UNIT, systemdUnit } from "./units.ts";

export type Action =
  | { kind: "mkdir"; dir: string; mode: number }
  | { kind: "write"; file: string; content: string }
  | { kind: "remove"; file: string }
  /** `optional`: a failure is expected in some states (stopping what is not loaded) and ignored. */
  | { kind: "run"; cmd: string[]; optional?: boolean };

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a service-manager command; the real one spawns it. */
export type CommandRunner = (cmd: string[]) => RunResult;

/** Runs commands for real, with `env` (PATH finds systemctl/launchctl; HOME for user units). */
export const spawnRunner =
  (env: Record<string, string | undefined>): CommandRunner =>
  (cmd) => {
    try {
      const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe", stdin: "ignore", env });
      return { code: r.exitCode ?? 1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
    } catch (error) {
      return { code: 127, stdout: "", stderr: (error as Error).message };
    }
  };

export class ServiceError extends BackappError {}

function systemctl(paths: ServicePaths, ...args: string[]): string[] {
  return ["systemctl", ...(paths.scope === "user" ? ["--user"] : []), ...args];
}

function launchTarget(paths: ServicePaths): string {
  return `${paths.domain}/${LAUNCHD_LABEL}`;
}

/** Whether the service manager answers here (systemd may be installed but not running, as in containers). */
export function managerRunning(paths: ServicePaths, run: CommandRunner): boolean {
  if (paths.manager === "launchd") return run(["launchctl", "version"]).code === 0;
  const state = run(systemctl(paths, "is-system-running")).stdout.trim();
  return state !== "" && state !== "offline" && state !== "unknown";
}

export function installActions(paths: ServicePaths, spec: ServiceSpec, managerUp: boolean): Action[] {
  const content = paths.manager === "systemd" ? systemdUnit(spec) : launchdPlist(spec);
  const actions: Action[] = [
    { kind: "mkdir", dir: spec.dataDir, mode: 0o700 },
    ...(spec.logDir ? [{ kind: "mkdir" as const, dir: spec.logDir, mode: 0o755 }] : []),
    { kind: "mkdir", dir: dirname(paths.file), mode: 0o755 },
    { kind: "write", file: paths.file, content },
  ];
  if (!managerUp) return actions;
  if (paths.manager === "systemd") {
    actions.push({ kind: "run", cmd: systemctl(paths, "daemon-reload") });
    actions.push({ kind: "run", cmd: systemctl(paths, "enable", SYSTEMD_UNIT) });
  } else {
    actions.push({ kind: "run", cmd: ["launchctl", "enable", launchTarget(paths)] });
  }
  return actions;
}

export function uninstallActions(paths: ServicePaths, managerUp: boolean): Action[] {
  const actions: Action[] = [];
  if (managerUp && paths.manager === "systemd") {
    actions.push({ kind: "run", cmd: systemctl(paths, "disable", "--now", SYSTEMD_UNIT), optional: true });
  } else if (managerUp) {
    actions.push({ kind: "run", cmd: ["launchctl", "bootout", launchTarget(paths)], optional: true });
  }
  actions.push({ kind: "remove", file: paths.file });
  if (managerUp && paths.manager === "systemd") {
    actions.push({ kind: "run", cmd: systemctl(paths, "daemon-reload") });
  }
  return actions;
}

export type Control = "start" | "stop" | "restart";

export function controlActions(paths: ServicePaths, control: Control): Action[] {
  if (paths.manager === "systemd") return [{ kind: "run", cmd: systemctl(paths, control, SYSTEMD_UNIT) }];
  const bootout: Action = { kind: "run", cmd: ["launchctl", "bootout", launchTarget(paths)], optional: true };
  const bootstrap: Action = { kind: "run", cmd: ["launchctl", "bootstrap", paths.domain ?? "", paths.file] };
  if (control === "stop") return [bootout];
  return [bootout, bootstrap];
}

export function describeAction(action: Action): string {
  switch (action.kind) {
    case "mkdir":
      return `mkdir -p -m ${action.mode.toString(8)} ${action.dir}`;
    case "write":
      return `write ${action.file}:\n${action.content.replace(/^/gm, "    ")}`;
    case "remove":
      return `rm -f ${action.file}`;
    case "run":
      return action.cmd.join(" ");
  }
}

/** Performs the actions in order; the first failure (other than an optional command's) throws. */
export function perform(actions: Action[], run: CommandRunner): void {
  for (const action of actions) {
    if (action.kind === "mkdir") {
      mkdirSync(action.dir, { recursive: true, mode: action.mode });
    } else if (action.kind === "write") {
      // A crash mid-write must not leave half a unit: write beside it, then rename over it.
      const tmp = `${action.file}.tmp-${process.pid}`;
      writeFileSync(tmp, action.content, { mode: 0o644 });
      renameSync(tmp, action.file);
    } else if (action.kind === "remove") {
      rmSync(action.file, { force: true });
    } else {
      const r = run(action.cmd);
      if (r.code !== 0 && !action.optional) {
        throw new ServiceError(
          `${action.cmd.join(" ")} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`,
        );
      }
    }
  }
}

export interface ServiceState {
  /** "active", "inactive", "failed", "activating", … as the manager says; "unknown" when it does not answer. */
  state: string;
  /** "enabled", "disabled", … ; "unknown" on launchd or when the manager does not answer. */
  enabled: string;
}

export function serviceState(paths: ServicePaths, run: CommandRunner, managerUp: boolean): ServiceState {
  if (!managerUp) return { state: "unknown", enabled: "unknown" };
  if (paths.manager === "systemd") {
    const active = run(systemctl(paths, "is-active", SYSTEMD_UNIT)).stdout.trim() || "unknown";
    const enabled = run(systemctl(paths, "is-enabled", SYSTEMD_UNIT)).stdout.trim() || "unknown";
    return { state: active, enabled };
  }
  const r = run(["launchctl", "print", launchTarget(paths)]);
  if (r.code !== 0) return { state: "inactive", enabled: "unknown" };
  const state = /^\s*state = (\w+)/m.exec(r.stdout)?.[1];
  return { state: state === "running" ? "active" : (state ?? "loaded"), enabled: "unknown" };
}
