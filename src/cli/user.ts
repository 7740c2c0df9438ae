import { existsSync } from "node:fs";
import { join } from "node:path";
import { audit, setPassword } from "../auth/accounts.ts";
import { adminCreateUser } from "../auth/admin.ts";
import { passwordProblem } from "../auth/policy.ts";
import { fieldErrors, userCreateSchema } from "../auth/schemas.ts";
import { readRepositoryEnv, resolveDataDir } from "../config/index.ts";
import { openDatabase } from "../db/client.ts";
import { countUsers, findUserByEmail } from "../db/users.ts";
import { systemClock } from "../util/clock.ts";
import { NotFoundError, ValidationError } from "../util/errors.ts";
import { parseFlags, UsageError } from "./args.ts";
import type { CliIo, Command } from "./io.ts";
import { promptHidden, stdinIsTTY } from "./prompt.ts";

const usage = `Usage: backapp user add --email EMAIL --name NAME [--admin] [--data-dir DIR]
       backapp user reset-password --email EMAIL [--data-dir DIR]

Manages accounts from the shell; works while the server runs on the same data dir.
  add              creates an account (the first account is always an admin)
  reset-password   sets a new password and ends all of the account's sessions

The password comes from BACKAPP_NEW_PASSWORD, or is asked for when stdin is a terminal.

Flags:
  --email EMAIL    the account's email address
  --name NAME      display name (add)
  --admin          make the account an administrator (add)
  --data-dir DIR   where backapp.db lives (env BACKAPP_DATA_DIR, default: the platform's data dir)
`;

async function newPassword(io: CliIo): Promise<string> {
  const fromEnv = readRepositoryEnv(io.env).newPassword;
  if (fromEnv) return fromEnv;
  if (!stdinIsTTY())
    throw new UsageError("set BACKAPP_NEW_PASSWORD or run in a terminal to type the password");
  const first = await promptHidden("New password: ", io.stderr);
  const again = await promptHidden("Repeat it: ", io.stderr);
  if (first !== again) throw new ValidationError("the passwords differ");
  return first;
}

const CLI_CONTEXT = { ip: "cli", actor: null };

export const userCommand: Command = {
  name: "user",
  summary: "add an account or reset a password from the shell",
  usage,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub.startsWith("-"))
      throw new UsageError("missing subcommand: add or reset-password");
    const { flags, positionals } = parseFlags(rest, {
      email: { type: "string" },
      name: { type: "string" },
      admin: { type: "boolean" },
      "data-dir": { type: "string" },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (sub !== "add" && sub !== "reset-password") {
      throw new UsageError(`unknown subcommand "${sub}"`);
    }
    if (!flags.email) throw new UsageError("--email is required");
    if (sub === "add" && !flags.name) throw new UsageError("--name is required");
    const dataDir = resolveDataDir(flags["data-dir"], io.env);
    if (sub === "reset-password" && !existsSync(join(dataDir, "backapp.db"))) {
      throw new NotFoundError(`no backapp database in ${dataDir}; check --data-dir`);
    }
    const database = openDatabase(dataDir);
    const deps = { db: database.db, clock: systemClock };
    try {
      if (sub === "add") {
        const password = await newPassword(io);
        const parsed = userCreateSchema.safeParse({
          email: flags.email,
          name: flags.name,
          password,
          role: flags.admin || countUsers(database.db) === 0 ? "admin" : "user",
        });
        if (!parsed.success) {
          const problems = Object.entries(fieldErrors(parsed.error)).map(([k, v]) => `${k}: ${v}`);
          throw new ValidationError(problems.join("; "));
        }
        const user = await adminCreateUser(deps, parsed.data, CLI_CONTEXT);
        io.stdout(`added ${user.role} ${user.email} (id ${user.id})\n`);
        return 0;
      }
      // Known account first, so nobody types a password twice for a typo in the address.
      const user = findUserByEmail(database.db, flags.email);
      if (!user) throw new NotFoundError(`no account with email ${flags.email}`);
      const password = await newPassword(io);
      const problem = passwordProblem(password, user.email);
      if (problem) throw new ValidationError(`password: ${problem}`);
      await setPassword(deps, user, password);
      audit(deps, "user.password_reset_cli", { ...CLI_CONTEXT, target: `user:${user.id}` });
      io.stdout(`password of ${user.email} changed; all of its sessions ended\n`);
      if (user.disabled) io.stdout("note: this account is disabled; an administrator can enable it\n");
      return 0;
    } finally {
      database.close();
    }
  },
};
