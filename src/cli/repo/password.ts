/**
 * Where the repository passphrase comes from, restic's order: `--password-file FILE` or
 * `--password-command CMD` (not both), else BACKAPP_PASSWORD_FILE or BACKAPP_PASSWORD_COMMAND
 * (not both), else BACKAPP_PASSWORD. An empty variable counts as unset. One trailing newline is
 * stripped from a file's or a command's output. Never a flag value (it would show in `ps`).
 */
import { spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import type { RepositoryEnv } from "../../config/index.ts";
import { ValidationError } from "../../util/errors.ts";
import { Secret } from "../../util/secret.ts";
import { UsageError } from "../args.ts";

export interface PasswordFlags {
  "password-file"?: string;
  "password-command"?: string;
}

export interface PasswordFound {
  password: Secret | null;
  /** For messages: "password file F", "password command", "BACKAPP_PASSWORD". */
  source: string;
}

/** The passphrase and where it came from (password null when none of the sources is set). */
export function findPassword(flags: PasswordFlags, env: RepositoryEnv): PasswordFound {
  if (flags["password-file"] !== undefined && flags["password-command"] !== undefined) {
    throw new UsageError("use either --password-file or --password-command, not both");
  }
  const file = flags["password-file"] ?? (flags["password-command"] ? undefined : env.passwordFile);
  const command = flags["password-command"] ?? (flags["password-file"] ? undefined : env.passwordCommand);
  if (file !== undefined && command !== undefined) {
    throw new ValidationError("BACKAPP_PASSWORD_FILE and BACKAPP_PASSWORD_COMMAND are both set: unset one");
  }
  if (file !== undefined)
    return { password: new Secret(readPasswordFile(file)), source: `password file ${file}` };
  if (command !== undefined)
    return { password: new Secret(runPasswordCommand(command)), source: "password command" };
  return {
    password: env.password === undefined ? null : new Secret(env.password),
    source: "BACKAPP_PASSWORD",
  };
}

/** A file's text with one trailing newline stripped; a message that says what is wrong otherwise. */
export function readPasswordFile(file: string, what = "password file"): string {
  try {
    if (statSync(file).isDirectory()) throw new ValidationError(`${what} ${file} is a folder, not a file`);
    return readFileSync(file, "utf8").replace(/\r?\n$/, "");
  } catch (e) {
    if (e instanceof ValidationError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new ValidationError(`${what} ${file} does not exist`);
    if (code === "EACCES") throw new ValidationError(`${what} ${file} cannot be read (permission denied)`);
    throw new ValidationError(`cannot read ${what} ${file}: ${code ?? (e as Error).message}`);
  }
}

/** Runs `sh -c CMD` (stdin and the terminal stay the user's: a prompt of `pass` still works). */
function runPasswordCommand(command: string): string {
  const r = spawnSync("/bin/sh", ["-c", command], {
    stdio: ["inherit", "pipe", "pipe"],
    encoding: "utf8",
    timeout: 120_000,
  });
  if (r.error) throw new ValidationError(`password command could not run: ${r.error.message}`);
  if (r.status !== 0) {
    const why = r.stderr.trim().split("\n")[0] ?? "";
    const how = r.status === null ? `was stopped by ${r.signal}` : `exited ${r.status}`;
    throw new ValidationError(`password command ${how}${why ? `: ${why}` : ""}`);
  }
  return r.stdout.replace(/\r?\n$/, "");
}
