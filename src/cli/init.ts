import { statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { readScryptParams } from "../config/index.ts";
import { pinScryptParams } from "../engine/crypto/keys.ts";
import { initRepository } from "../engine/repository/index.ts";
import { ValidationError } from "../util/errors.ts";
import { parseFlags } from "./args.ts";
import type { Command } from "./io.ts";
import {
  REPO_FLAGS,
  REPO_FLAGS_USAGE,
  requirePassword,
  resolveTarget,
  takePositionals,
  targetBackend,
} from "./repo/options.ts";

const usage = `Usage: backapp init --repo REPO [--insecure-no-encryption] [--force]

Creates a new, empty repository. The passphrase (BACKAPP_PASSWORD or --password-file) wraps the
repository's keys: without it the backups cannot be read, so keep it somewhere safe.

Flags:
  --insecure-no-encryption  store data unencrypted (still integrity-checked by hashes)
  --force                   create the repository in a folder or bucket prefix that already
                            holds other files (refused by default: usually a mistyped path)

${REPO_FLAGS_USAGE}`;

/** A local repository path that is a file, or lies below one, is named as such. */
function refuseFilePath(address: string): void {
  for (let p = resolve(address); ; p = dirname(p)) {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p, { throwIfNoEntry: false });
    } catch {
      continue; // ENOTDIR: a file further up, found on the next step
    }
    if (st && !st.isDirectory()) throw new ValidationError(`${p} is a file, not a folder`);
    if (st || dirname(p) === p) return;
  }
}

export const initCommand: Command = {
  name: "init",
  summary: "create a new repository",
  usage,
  async run(argv, io) {
    // New key objects: calibrated scrypt cost unless BACKAPP_SCRYPT_PARAMS pins it.
    pinScryptParams(readScryptParams(io.env));
    const { flags, positionals } = parseFlags(argv, {
      ...REPO_FLAGS,
      "insecure-no-encryption": { type: "boolean" },
      force: { type: "boolean" },
    });
    takePositionals(positionals, []);
    const target = resolveTarget(flags, io);
    const encryption = !flags["insecure-no-encryption"];
    const password = encryption ? requirePassword(target).reveal() : "";
    if (!/^s3:\/\//.test(target.address)) refuseFilePath(target.address);
    const backend = targetBackend(target);
    const force = flags.force === true;
    const repo = await initRepository(backend, password, { encryption, force }).catch(async (e) => {
      await backend.close().catch(() => {});
      throw e;
    });
    await repo.close();
    const kind = encryption ? "encrypted" : "UNENCRYPTED";
    io.stdout(`created ${kind} repository ${repo.id.slice(0, 8)} at ${backend.location}\n`);
    if (encryption) io.stdout("Keep the passphrase safe: without it the repository cannot be read.\n");
    return 0;
  },
};
