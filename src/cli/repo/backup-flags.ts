/**
 * backup's flags beyond patterns and tags (restic's names): where the paths and patterns come
 * from, what the walk skips, --dry-run. Kept apart from backup.ts so that file stays small.
 */
import { CACHEDIR_TAG } from "../../engine/scan/walk.ts";
import { type FlagSpecs, intFlag, type ParsedFlags, UsageError } from "../args.ts";
import { readPasswordFile } from "./password.ts";

export const BACKUP_MORE_FLAGS = {
  "exclude-file": { type: "string", multiple: true },
  "files-from": { type: "string", multiple: true },
  "one-file-system": { type: "boolean", short: "x" },
  "exclude-caches": { type: "boolean" },
  "exclude-if-present": { type: "string", multiple: true },
  "read-concurrency": { type: "string" },
  "no-xattrs": { type: "boolean" },
  "dry-run": { type: "boolean", short: "n" },
  stdin: { type: "boolean" },
  "stdin-filename": { type: "string" },
  verbose: { type: "boolean", short: "v" },
} as const satisfies FlagSpecs;

export const BACKUP_MORE_USAGE = `  --exclude-file FILE    read --exclude patterns from FILE, one a line ("#" comments,
                         blank lines ignored; repeatable)
  --files-from FILE      read the paths to back up from FILE, one a line (repeatable; "-" is
                         not supported: name a file)
  --one-file-system, -x  do not cross into other file systems (mount points stay, empty)
  --exclude-caches       leave out folders holding a CACHEDIR.TAG with the standard signature
  --exclude-if-present NAME[:HEADER]
                         leave out folders holding a file NAME (that starts with HEADER)
  --read-concurrency N   files read at once (default 8)
  --no-xattrs            do not store extended attributes (stored by default in repositories of
                         format 2, i.e. made by this version; format-1 repositories never hold them)
  --dry-run, -n          show what would be saved (sizes before dedup); reads no file content,
                         opens no repository, writes nothing
  --verbose, -v          list each new and modified file as it is stored ("new PATH (SIZE)",
                         "modified PATH (SIZE)"; with --json {"type":"verbose_status",
                         "action","item","data_size"} lines); with --dry-run: every file that
                         would be saved
  --stdin                back up standard input as one file (no PATH): pg_dump db | backapp
                         backup --stdin --stdin-filename db.sql
  --stdin-filename NAME  the file's name in the snapshot, /NAME (default stdin)`;

/** Non-blank, non-comment lines of a list file (patterns or paths). */
function listFile(flag: string, file: string): string[] {
  return readPasswordFile(file, `--${flag} file`)
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

export interface BackupMore {
  paths: string[];
  excludes: string[] | undefined;
  scan: { oneFileSystem: boolean; excludeIfPresent: string[] };
  readConcurrency: number | undefined;
  noXattrs: boolean;
  dryRun: boolean;
  verbose: boolean;
  /** --stdin: the file name to store standard input as, else undefined. */
  stdinName: string | undefined;
}

export function parseBackupMore(
  flags: ParsedFlags<typeof BACKUP_MORE_FLAGS> & { exclude?: string[] },
  positionals: string[],
): BackupMore {
  const fromFiles = (flags["files-from"] ?? []).flatMap((f) => listFile("files-from", f));
  const paths = [...positionals, ...fromFiles];
  const stdinName = stdinFileName(flags, paths);
  if (paths.length === 0 && stdinName === undefined) throw new UsageError("missing PATH (what to back up)");
  const excludeFiles = (flags["exclude-file"] ?? []).flatMap((f) => listFile("exclude-file", f));
  const excludes = [...(flags.exclude ?? []), ...excludeFiles];
  const markers = [...(flags["exclude-if-present"] ?? [])];
  if (markers.some((m) => m === "" || m.startsWith(":") || m.includes("/"))) {
    throw new UsageError("flag --exclude-if-present needs a file name (NAME or NAME:HEADER)");
  }
  if (flags["exclude-caches"]) markers.push(CACHEDIR_TAG);
  return {
    paths,
    excludes: excludes.length > 0 ? excludes : undefined,
    scan: { oneFileSystem: flags["one-file-system"] === true, excludeIfPresent: markers },
    readConcurrency: intFlag("read-concurrency", flags["read-concurrency"], 1, 256),
    noXattrs: flags["no-xattrs"] === true,
    dryRun: flags["dry-run"] === true,
    verbose: flags.verbose === true,
    stdinName,
  };
}

function stdinFileName(flags: ParsedFlags<typeof BACKUP_MORE_FLAGS>, paths: string[]): string | undefined {
  const name = flags["stdin-filename"];
  if (!flags.stdin) {
    if (name !== undefined) throw new UsageError("--stdin-filename needs --stdin");
    return undefined;
  }
  if (paths.length > 0) throw new UsageError("--stdin backs up standard input: give no PATH");
  if (flags["dry-run"]) throw new UsageError("--dry-run cannot preview --stdin");
  if (name !== undefined && (name === "" || name.includes("/") || name === "." || name === "..")) {
    throw new UsageError(`flag --stdin-filename needs a plain file name, got "${name}"`);
  }
  return name ?? "stdin";
}
