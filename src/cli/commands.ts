/**
 * Every CLI command, in the order `backapp --help` lists them. Add new commands here.
 *
 * Each command's module is loaded only when that command runs (or shows its usage): `--version`
 * and `--help` load none, `snapshots` never loads the web server or the database, `serve` never
 * loads the backup engine. The specifiers are literal, so `bun build --compile` still bundles
 * every command into the binary (evaluated lazily there too). A test checks each summary here
 * matches the command's own.
 */
import type { Command } from "./io.ts";

/** What the dispatcher knows of a command before loading it. */
export interface CommandEntry {
  name: string;
  /** One line for `backapp --help`; equal to the loaded command's `summary`. */
  summary: string;
  /** Imports the command's module. Rejects only if the module itself fails to load. */
  load(): Promise<Command>;
}

export const commands: readonly CommandEntry[] = [
  {
    name: "serve",
    summary: "serve the web UI and JSON API",
    load: async () => (await import("./serve.ts")).serveCommand,
  },
  {
    name: "init",
    summary: "create a new repository",
    load: async () => (await import("./init.ts")).initCommand,
  },
  {
    name: "backup",
    summary: "back up files and folders into a new snapshot",
    load: async () => (await import("./backup.ts")).backupCommand,
  },
  {
    name: "snapshots",
    summary: "list snapshots",
    load: async () => (await import("./snapshots.ts")).snapshotsCommand,
  },
  {
    name: "restore",
    summary: "restore a snapshot into a folder",
    load: async () => (await import("./restore.ts")).restoreCommand,
  },
  {
    name: "ls",
    summary: "list the files in a snapshot",
    load: async () => (await import("./ls.ts")).lsCommand,
  },
  {
    name: "dump",
    summary: "write a file of a snapshot, or a folder as a tar, to stdout",
    load: async () => (await import("./dump.ts")).dumpCommand,
  },
  {
    name: "diff",
    summary: "show differences between two snapshots",
    load: async () => (await import("./diff.ts")).diffCommand,
  },
  {
    name: "check",
    summary: "verify the repository (structure; --read-data: every byte)",
    load: async () => (await import("./check.ts")).checkCommand,
  },
  {
    name: "forget",
    summary: "remove snapshots by retention policy or id (--prune to reclaim space)",
    load: async () => (await import("./forget.ts")).forgetCommand,
  },
  {
    name: "prune",
    summary: "delete data no snapshot references (after forget)",
    load: async () => (await import("./prune.ts")).pruneCommand,
  },
  {
    name: "stats",
    summary: "show repository sizes, dedup and compression ratios",
    load: async () => (await import("./stats.ts")).statsCommand,
  },
  {
    name: "find",
    summary: "find files across snapshots by name or path pattern",
    load: async () => (await import("./find.ts")).findCommand,
  },
  {
    name: "tag",
    summary: "add, remove or set the tags of snapshots",
    load: async () => (await import("./tag.ts")).tagCommand,
  },
  {
    name: "rewrite",
    summary: "remove files from existing snapshots (--exclude)",
    load: async () => (await import("./rewrite.ts")).rewriteCommand,
  },
  {
    name: "copy",
    summary: "copy snapshots from another repository (different passphrase allowed)",
    load: async () => (await import("./copy.ts")).copyCommand,
  },
  {
    name: "cat",
    summary: "print a repository object as JSON (config, snapshot, index, key, tree)",
    load: async () => (await import("./cat.ts")).catCommand,
  },
  {
    name: "repair",
    summary:
      "repair the repository (index: forget lost or damaged packs) or the server's history from its repositories",
    load: async () => (await import("./repair.ts")).repairCommand,
  },
  {
    name: "key",
    summary: "list, add, remove or change repository passphrases",
    load: async () => (await import("./key.ts")).keyCommand,
  },
  {
    name: "unlock",
    summary: "remove stale repository locks",
    load: async () => (await import("./unlock.ts")).unlockCommand,
  },
  {
    name: "setup-token",
    summary: "print the one-time token for creating the first account",
    load: async () => (await import("./setup-token.ts")).setupTokenCommand,
  },
  {
    name: "user",
    summary: "add an account or reset a password from the shell",
    load: async () => (await import("./user.ts")).userCommand,
  },
  {
    name: "service",
    summary: "install, start, stop or inspect backapp as a system or user service",
    load: async () => (await import("./service.ts")).serviceCommand,
  },
  {
    name: "doctor",
    summary: "check the data dir, database, service, clock, disk and destinations; say what to fix",
    load: async () => (await import("./doctor.ts")).doctorCommand,
  },
];
