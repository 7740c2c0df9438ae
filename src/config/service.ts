/** Where the service definition, data and logs of an installed backapp go, per OS and scope. */
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { defaultDataDir } from "./index.ts";

type Env = Record<string, string | undefined>;

export type ServiceScope = "system" | "user";
export type ServiceManagerKind = "systemd" | "launchd";

export interface ServicePaths {
  readonly manager: ServiceManagerKind;
  readonly scope: ServiceScope;
  /** The unit file or plist. */
  readonly file: string;
  /** Data dir the service gets unless told otherwise. */
  readonly dataDir: string;
  /** launchd's stdout/stderr files (systemd logs to the journal). */
  readonly logDir?: string;
  /** launchd domain: "system" or "gui/<uid>". */
  readonly domain?: string;
}

function home(env: Env): string {
  const h = env.HOME?.trim();
  return h && isAbsolute(h) ? h : homedir();
}

/**
 * Linux: /etc/systemd/system + /var/lib/backapp (system), $XDG_CONFIG_HOME/systemd/user + the
 * user's data dir (user). macOS: /Library/LaunchDaemons + /Library/Application Support/backapp
 * (system), ~/Library/LaunchAgents + ~/Library/Application Support/backapp (user).
 */
export function servicePaths(
  scope: ServiceScope,
  env: Env,
  platform: NodeJS.Platform = process.platform,
  uid: number = process.getuid?.() ?? 0,
): ServicePaths {
  if (platform === "darwin") {
    const plist = "org.backapp.server.plist";
    if (scope === "system") {
      return Object.freeze({
        manager: "launchd",
        scope,
        file: join("/Library/LaunchDaemons", plist),
        dataDir: "/Library/Application Support/backapp",
        logDir: "/Library/Logs/backapp",
        domain: "system",
      });
    }
    return Object.freeze({
      manager: "launchd",
      scope,
      file: join(home(env), "Library", "LaunchAgents", plist),
      dataDir: defaultDataDir(env, platform, home(env)),
      logDir: join(home(env), "Library", "Logs", "backapp"),
      domain: `gui/${uid}`,
    });
  }
  if (scope === "system") {
    return Object.freeze({
      manager: "systemd",
      scope,
      file: "/etc/systemd/system/backapp.service",
      dataDir: "/var/lib/backapp",
    });
  }
  const xdg = env.XDG_CONFIG_HOME?.trim();
  const config = xdg && isAbsolute(xdg) ? xdg : join(home(env), ".config");
  return Object.freeze({
    manager: "systemd",
    scope,
    file: join(config, "systemd", "user", "backapp.service"),
    dataDir: defaultDataDir(env, platform, home(env)),
  });
}

/** System service as root, user service otherwise. */
export function defaultServiceScope(uid: number = process.getuid?.() ?? 0): ServiceScope {
  return uid === 0 ? "system" : "user";
}

/** The running executable: the compiled binary itself, or `bun` when run from source. */
export function currentExecutable(): string {
  return process.execPath;
}

/** The login name, for the `loginctl enable-linger` hint. */
export function userName(env: Env): string {
  return env.USER || env.LOGNAME || "$USER";
}
