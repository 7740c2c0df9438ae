/**
 * The command line that starts a run's child process: the same program as the server. Inside the
 * compiled binary every bundled module's URL is under /$bunfs/ (or /~BUN/ on some platforms; see
 * seal-pool.ts) and process.execPath is the binary itself; from source process.execPath is bun and
 * the entry is src/main.ts.
 */
import { fileURLToPath } from "node:url";

export function isCompiled(base: string = import.meta.url): boolean {
  return base.includes("/$bunfs/") || base.includes("/~BUN/");
}

export function runChildCommand(base: string = import.meta.url): string[] {
  if (isCompiled(base)) return [process.execPath, "__run"];
  return [process.execPath, fileURLToPath(new URL("../main.ts", base)), "__run"];
}
