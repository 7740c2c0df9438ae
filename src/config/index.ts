/**
 * Every environment variable and default lives here; the rest of the program receives frozen
 * objects. This is the only module that reads process.env.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { ValidationError } from "../util/errors.ts";
import { Secret } from "../util/secret.ts";

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  /** Outgoing mail (password reset); absent when SMTP_HOST is not set. */
  readonly smtp?: SmtpConfig;
  /** Proxy addresses whose X-Forwarded-For / X-Forwarded-Proto are believed (env BACKAPP_TRUSTED_PROXIES). */
  readonly trustedProxies?: readonly string[];
  /** The URL users reach the server at, for links in emails (env BACKAPP_PUBLIC_URL). */
  readonly publicUrl?: string;
}

export interface SmtpConfig {
  readonly host: string;
  readonly port: number;
  /** "tls": TLS from the first byte (port 465); "starttls": upgrade when offered (default). */
  readonly security: "tls" | "starttls" | "none";
  readonly user?: string;
  readonly pass?: Secret;
  readonly from: string;
}

export interface ServerFlags {
  listen?: string;
  dataDir?: string;
  logLevel?: string;
}

type Env = Record<string, string | undefined>;

/** An environment variable's value, with empty (`VAR=`) meaning unset. */
function envValue(env: Env, name: string): string | undefined {
  return env[name]?.trim() || undefined;
}

/**
 * XDG data home on Linux (a relative XDG_DATA_HOME is ignored, as the spec says), else
 * ~/.local/share; ~/Library/Application Support on macOS. The home directory is $HOME, or the
 * account's home from the password database when HOME is unset or not absolute.
 */
export function defaultDataDir(
  env: Env = process.env,
  platform = process.platform,
  home = homeDirectory(env),
): string {
  if (platform === "darwin") return join(home, "Library", "Application Support", "backapp");
  const xdg = envValue(env, "XDG_DATA_HOME");
  return join(xdg && isAbsolute(xdg) ? xdg : join(home, ".local", "share"), "backapp");
}

function homeDirectory(env: Env): string {
  const home = envValue(env, "HOME");
  if (home && isAbsolute(home)) return home;
  try {
    // os.homedir() prefers $HOME; without it (or when it is relative) it asks the password database.
    const fromOs = homedir();
    if (isAbsolute(fromOs)) return fromOs;
  } catch {}
  throw new ValidationError(
    "cannot find a home directory for the default data dir: set --data-dir or BACKAPP_DATA_DIR",
  );
}

/**
 * "127.0.0.1:8080", "[::1]:80", "0.0.0.0:0" (port 0: any free port). An empty host (":9000")
 * means 127.0.0.1, never all interfaces: those must be asked for (0.0.0.0 or [::]).
 */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) {
    throw new ValidationError(
      `invalid listen address "${value}": expected HOST:PORT with a port from 0 to 65535, e.g. 127.0.0.1:8080 or [::1]:8080`,
    );
  }
  const host = m[1] ?? (m[2] || "127.0.0.1");
  return { host, port };
}

/** Parses a setting, naming the environment variable it came from when it is bad. */
function fromSource<T>(
  flag: string | undefined,
  env: Env,
  name: string,
  fallback: string,
  parse: (v: string) => T,
): T {
  const fromEnv = flag === undefined ? envValue(env, name) : undefined;
  try {
    return parse(flag ?? fromEnv ?? fallback);
  } catch (error) {
    if (fromEnv !== undefined && error instanceof ValidationError) {
      throw new ValidationError(`${name}: ${error.message}`);
    }
    throw error;
  }
}

function parseLogLevel(value: string): LogLevel {
  if ((LOG_LEVELS as readonly string[]).includes(value)) return value as LogLevel;
  throw new ValidationError(`invalid log level "${value}": expected one of ${LOG_LEVELS.join(", ")}`);
}

/** Flags win over environment variables, which win over defaults. */
export function resolveServerConfig(flags: ServerFlags, env: Env = process.env): ServerConfig {
  const { host, port } = fromSource(flags.listen, env, "BACKAPP_LISTEN", "127.0.0.1:8080", parseListen);
  const dataDir = resolveDataDir(flags.dataDir, env);
  const logLevel = fromSource(flags.logLevel, env, "BACKAPP_LOG_LEVEL", "info", parseLogLevel);
  const smtp = readSmtpConfig(env);
  const trustedProxies = Object.freeze(
    (env.BACKAPP_TRUSTED_PROXIES ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
  const publicUrl = parsePublicUrl(env.BACKAPP_PUBLIC_URL);
  return Object.freeze({
    host,
    port,
    dataDir,
    logLevel,
    trustedProxies,
    ...(smtp ? { smtp } : {}),
    ...(publicUrl ? { publicUrl } : {}),
  });
}

/** --data-dir, else BACKAPP_DATA_DIR, else the platform's place; always absolute (logs, locks). */
export function resolveDataDir(flag: string | undefined, env: Env = process.env): string {
  if (flag !== undefined && flag.trim() === "") throw new ValidationError("--data-dir needs a directory");
  return resolve(flag ?? envValue(env, "BACKAPP_DATA_DIR") ?? defaultDataDir(env));
}

function parsePublicUrl(value: string | undefined): string | undefined {
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ValidationError(
      `invalid BACKAPP_PUBLIC_URL "${value}": expected e.g. https://backup.example.com`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ValidationError(`invalid BACKAPP_PUBLIC_URL "${value}": use http or https`);
  }
  return url.origin + url.pathname.replace(/\/+$/, "");
}

/** SMTP_HOST, SMTP_PORT (587), SMTP_SECURE (tls|starttls|none), SMTP_USER, SMTP_PASS, SMTP_FROM. */
export function readSmtpConfig(env: Env = process.env): SmtpConfig | undefined {
  const host = env.SMTP_HOST?.trim();
  if (!host) return undefined;
  const port = Number(env.SMTP_PORT ?? "587");
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ValidationError(`invalid SMTP_PORT "${env.SMTP_PORT}": expected a port number`);
  }
  const secure = env.SMTP_SECURE?.trim().toLowerCase() || (port === 465 ? "tls" : "starttls");
  if (secure !== "tls" && secure !== "starttls" && secure !== "none") {
    throw new ValidationError(`invalid SMTP_SECURE "${env.SMTP_SECURE}": expected tls, starttls or none`);
  }
  const from = env.SMTP_FROM?.trim() || (env.SMTP_USER?.includes("@") ? env.SMTP_USER : `backapp@${host}`);
  return Object.freeze({
    host,
    port,
    security: secure,
    from,
    ...(env.SMTP_USER ? { user: env.SMTP_USER } : {}),
    ...(env.SMTP_PASS ? { pass: new Secret(env.SMTP_PASS) } : {}),
  });
}

/** Settings the repository commands take from the environment. */
export interface RepositoryEnv {
  readonly repo?: string;
  /** BACKAPP_PASSWORD; an empty variable counts as unset (like every other variable). */
  readonly password?: string;
  readonly passwordFile?: string;
  readonly passwordCommand?: string;
  readonly newPassword?: string;
  /** The source repository of `copy`: BACKAPP_FROM_REPO and its passphrase variables. */
  readonly from: {
    readonly repo?: string;
    readonly password?: string;
    readonly passwordFile?: string;
    readonly passwordCommand?: string;
  };
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
    password: env.BACKAPP_PASSWORD || undefined,
    passwordFile: env.BACKAPP_PASSWORD_FILE || undefined,
    passwordCommand: env.BACKAPP_PASSWORD_COMMAND || undefined,
    newPassword: env.BACKAPP_NEW_PASSWORD || undefined,
    from: Object.freeze({
      repo: env.BACKAPP_FROM_REPO || undefined,
      password: env.BACKAPP_FROM_PASSWORD || undefined,
      passwordFile: env.BACKAPP_FROM_PASSWORD_FILE || undefined,
      passwordCommand: env.BACKAPP_FROM_PASSWORD_COMMAND || undefined,
    }),
    s3: Object.freeze({
      endpoint: env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined,
      region: env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined,
      accessKeyId: env.AWS_ACCESS_KEY_ID || undefined,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY || undefined,
      sessionToken: env.AWS_SESSION_TOKEN || undefined,
    }),
  });
}

/**
 * AWS_CA_BUNDLE, as the AWS tools honour it: the path of a PEM file of certificates that S3
 * connections trust. Returns the file's text (passed down to the storage layer), or undefined
 * when the variable is unset. ValidationError naming the variable when the file cannot be read.
 */
export function readAwsCaBundle(env: Env = process.env): string | undefined {
  const path = envValue(env, "AWS_CA_BUNDLE");
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ValidationError(`AWS_CA_BUNDLE: cannot read ${path}: ${code}`);
  }
}

/** The process environment, for the CLI's I/O boundary; everything else gets typed settings. */
export function environment(): Env {
  return process.env;
}

/** True when stdout is an interactive terminal (progress lines instead of plain output). */
export function isInteractive(): boolean {
  return Boolean(process.stdout.isTTY) && process.env.TERM !== "dumb";
}

/**
 * BACKAPP_SCRYPT_PARAMS="N,r,p": the scrypt parameters of keys this process creates, instead of
 * the calibrated ones (half a second within 128 MiB). For test suites and machines where the
 * calibrated cost is wrong; keys already written keep theirs. Undefined when unset.
 */
export function readScryptParams(env: Env = process.env): { N: number; r: number; p: number } | undefined {
  const raw = envValue(env, "BACKAPP_SCRYPT_PARAMS");
  if (raw === undefined) return undefined;
  const parts = raw.split(",").map((x) => Number(x.trim()));
  if (parts.length !== 3 || parts.some((n) => !Number.isSafeInteger(n) || n < 1)) {
    throw new ValidationError(`invalid BACKAPP_SCRYPT_PARAMS "${raw}": expected N,r,p such as 131072,8,1`);
  }
  const [N, r, p] = parts as [number, number, number];
  return { N, r, p };
}
