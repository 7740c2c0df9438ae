/**
 * Where a worker module of this folder is (seal-worker.ts, open-worker.ts). From source (bun,
 * vitest) it sits next to this module. Inside the compiled binary every bundled module shares the
 * entry's URL (file:///$bunfs/root/<name>) and extra entrypoints keep their path relative to the
 * common root of build.ts's entrypoints, src/.
 */
export function repositoryWorkerUrl(file: string, base: string = import.meta.url): string {
  const compiled = base.includes("/$bunfs/") || base.includes("/~BUN/");
  return new URL(compiled ? `./engine/repository/${file}` : `./${file}`, base).href;
}
