import { readRepositoryEnv, readScryptParams } from "../config/index.ts";
import { pinScryptParams } from "../engine/crypto/keys.ts";
import { addKey, changePassword, listKeys, removeKey } from "../engine/repository/index.ts";
import { ValidationError } from "../util/errors.ts";
import { parseFlags, UsageError } from "./args.ts";
import type { CliIo, Command } from "./io.ts";
import { displayTime, table } from "./repo/format.ts";
import {
  REPO_FLAGS,
  REPO_FLAGS_USAGE,
  resolveTarget,
  takePositionals,
  withRepository,
} from "./repo/options.ts";
import { readPasswordFile } from "./repo/password.ts";

const usage = `Usage: backapp key list   --repo REPO [--json]
       backapp key add    --repo REPO [--new-password-file FILE] [--json]
       backapp key remove --repo REPO KEYID [--json]
       backapp key passwd --repo REPO [--new-password-file FILE] [--json]

Manages the passphrases (key objects) that open the repository; all wrap the same master key, so
adding or removing one never rewrites data. "list" marks the key in use with *. "remove" takes a
key id or a unique prefix of 8+ characters; it never removes the key in use (use passwd) and so
never the last one. "passwd" adds a key for the new passphrase, then removes the one in use and
any other key the old passphrase opens, so the old passphrase stops working.

The current passphrase comes from BACKAPP_PASSWORD or --password-file; the new one from
BACKAPP_NEW_PASSWORD or --new-password-file FILE (never from a flag value).

Flags:
  --new-password-file FILE   read the new passphrase from FILE (one trailing newline stripped)
  --json                     list: one array [{id, created, hostname, username, current}];
                             add and passwd: {"added": ID}; remove: {"removed": ID}

${REPO_FLAGS_USAGE}`;

function newPassword(file: string | undefined, io: CliIo): string {
  const value =
    file !== undefined ? readPasswordFile(file, "new password file") : readRepositoryEnv(io.env).newPassword;
  if (value === undefined) {
    throw new ValidationError(
      "no new passphrase given: set BACKAPP_NEW_PASSWORD or use --new-password-file FILE",
    );
  }
  if (value === "") throw new ValidationError("the new passphrase is empty");
  return value;
}

const ACTIONS = ["list", "add", "remove", "passwd"] as const;

export const keyCommand: Command = {
  name: "key",
  summary: "list, add, remove or change repository passphrases",
  usage,
  async run(argv, io) {
    // New key objects: calibrated scrypt cost unless BACKAPP_SCRYPT_PARAMS pins it.
    pinScryptParams(readScryptParams(io.env));
    const { flags, positionals } = parseFlags(argv, {
      ...REPO_FLAGS,
      "new-password-file": { type: "string" },
      json: { type: "boolean" },
    });
    const [action, ...rest] = positionals;
    if (!ACTIONS.includes(action as (typeof ACTIONS)[number])) {
      throw new UsageError(
        action ? `unknown action "${action}"` : "missing action (list, add, remove or passwd)",
      );
    }
    const [keyId] = takePositionals(rest, action === "remove" ? ["KEYID"] : []);
    if (keyId !== undefined && !/^[0-9a-fA-F]{8,64}$/.test(keyId)) {
      throw new UsageError(`"${keyId}" is not a key id or a prefix of at least 8 hex characters`);
    }
    if (flags["new-password-file"] !== undefined && action !== "add" && action !== "passwd") {
      throw new UsageError("--new-password-file only applies to add and passwd");
    }
    const target = resolveTarget(flags, io);
    const fresh = action === "add" || action === "passwd" ? newPassword(flags["new-password-file"], io) : "";
    return withRepository(target, { lock: "none" }, async (repo) => {
      if (action === "list") {
        const keys = await listKeys(repo);
        if (flags.json) {
          io.stdout(`${JSON.stringify(keys)}\n`);
          return 0;
        }
        if (!repo.encrypted) {
          io.stdout("the repository is not encrypted: it has no keys\n");
          return 0;
        }
        const rows = keys.map((k) => [
          `${k.current ? "*" : " "}${k.id.slice(0, 8)}`,
          k.created ? displayTime(k.created) : "?",
          k.hostname,
          k.username,
        ]);
        io.stdout(table([" ID", "Created (UTC)", "Host", "User"], rows));
        return 0;
      }
      const print = (json: Record<string, unknown>, text: string) =>
        io.stdout(flags.json ? `${JSON.stringify(json)}\n` : `${text}\n`);
      if (action === "add") {
        const id = await addKey(repo, fresh);
        print({ added: id }, `added key ${id.slice(0, 8)}`);
      } else if (action === "remove") {
        const id = await removeKey(repo, keyId!);
        print({ removed: id }, `removed key ${id.slice(0, 8)}`);
      } else {
        const id = await changePassword(repo, fresh, { oldPassword: target.password?.reveal() });
        print({ added: id }, `changed the passphrase: key ${id.slice(0, 8)} replaces the old one`);
      }
      return 0;
    });
  },
};
