/**
 * Every environment variable and default lives here; the rest of the program receives frozen
 * objects. This is the only module that reads process.env.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { ValidationError } from "../util/errors.ts";

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly logLevel: LogLevel;
}

export interface ServerFlags {
  listen?: string;
  dataDir?: string;
  logLevel?: string;
}

type Env = Record<string, string | undefined>;

/** XDG data home on Linux, ~/Library/Application Support on macOS. */
export function defaultDataDir(
  env: Env = process.env,
  platform = process.platform,
  home = homedir(),
): string {
  if (platform === "darwin") return join(home, "Library", "Application Support", "backapp");
  const xdg = env.XDG_DATA_HOME;
  return join(xdg?.startsWith("/") ? xdg : join(home, ".local", "share"), "backapp");
}

/** "127.0.0.1:8080", "[::1]:80", ":9000" (all interfaces is never implied: empty host → 127.0.0.1). */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) {
    throw new ValidationError(`invalid listen address "${value}": expected HOST:PORT, e.g. 127.0.0.1:8080`);
  }
  const host = m[1] ?? (m[2] || "127.0.0.1");
  return { host, port };
}

function parseLogLevel(value: string): LogLevel {
  if ((LOG_LEVELS as readonly string[]).includes(value)) return value as LogLevel;
  throw new ValidationError(`invalid log level "${value}": expected one of ${LOG_LEVELS.join(", ")}`);
}

/** Flags win over environment variables, which win over defaults. */
export function resolveServerConfig(flags: ServerFlags, env: Env = process.env): ServerConfig {
  const { host, port } = parseListen(flags.listen ?? env.BACKAPP_LISTEN ?? "127.0.0.1:8080");
  const dataDir = flags.dataDir ?? env.BACKAPP_DATA_DIR ?? defaultDataDir(env);
  const logLevel = parseLogLevel(flags.logLevel ?? env.BACKAPP_LOG_LEVEL ?? "info");
  return Object.freeze({ host, port, dataDir, logLevel });
}

/** Settings the repository commands take from the environment. */
export interface RepositoryEnv {
  readonly repo?: string;
  readonly password?: string;
  readonly newPassword?: string;
  readonly s3: {
    readonly endpoint?: string;
    readonly region?: string;
    readonly accessKeyId?: string;
    readonly secretAccessKey?: string;
    readonly sessionToken?: string;
  };
}

export function readRepositoryEnv(env: Env = process.env): RepositoryEnv {
  return Object.freeze({
    repo: env.BACKAPP_REPO || undefined,
    password: env.BACKAPP_PASSWORD,
    newPassword: env.BACKAPP_NEW_PASSWORD,
    s3: Object.freeze({
      endpoint: env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined,
      region: env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined,
      accessKeyId: env.AWS_ACCESS_KEY_ID || undefined,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY || undefined,
      sessionToken: env.AWS_SESSION_TOKEN || undefined,
    }),
  });
}

/** The process environment, for the CLI's I/O boundary; everything else gets typed settings. */
export function environment(): Env {
  return process.env;
}

/** True when stdout is an interactive terminal (progress lines instead of plain output). */
export function isInteractive(): boolean {
  return Boolean(process.stdout.isTTY) && process.env.TERM !== "dumb";
}
