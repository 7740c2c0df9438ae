import { readScryptParams } from "../config/index.ts";
import { pinScryptParams } from "../engine/crypto/keys.ts";
import { initRepository } from "../engine/repository/index.ts";
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

const usage = `Usage: backapp init --repo REPO [--insecure-no-encryption]

Creates a new, empty repository. The passphrase (BACKAPP_PASSWORD or --password-file) wraps the
repository's keys: without it the backups cannot be read, so keep it somewhere safe.

Flags:
  --insecure-no-encryption  store data unencrypted (still integrity-checked by hashes)

${REPO_FLAGS_USAGE}`;

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
    });
    takePositionals(positionals, []);
    const target = resolveTarget(flags, io);
    const encryption = !flags["insecure-no-encryption"];
    const password = encryption ? requirePassword(target).reveal() : "";
    const backend = targetBackend(target);
    const repo = await initRepository(backend, password, { encryption }).catch(async (e) => {
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
