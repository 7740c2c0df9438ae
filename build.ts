/**
 * Builds standalone executables: dist/backapp-<os>-<arch> for linux-x64, linux-arm64, darwin-x64
 * and darwin-arm64, plus dist/SHA256SUMS. Views, static assets and migrations are embedded through
 * src/generated/embedded.ts; worker files (src/**\/*-worker.ts) are extra entrypoints so
 * `new Worker(new URL("./x-worker.ts", import.meta.url))` works inside the binary.
 * Usage: bun build.ts [--target linux-x64]...   (default: all four)
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Glob } from "bun";
import pkg from "./package.json" with { type: "json" };
import { generate } from "./scripts/gen-embedded.ts";

const ALL_TARGETS = ["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64"] as const;
const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, "dist");

/** Output of a git command run in the project, or "" when git is missing or fails. */
function git(dir: string, ...args: string[]): string {
  try {
    const r = Bun.spawnSync(["git", ...args], { cwd: dir, stderr: "ignore" });
    return r.success ? r.stdout.toString().trim() : "";
  } catch {
    return ""; // git is not installed
  }
}

/**
 * The commit baked into --version: "3f2a1bc0de", "-dirty" when tracked files changed, "unknown"
 * outside a git checkout (a source tarball, or git missing). A checkout nested in another
 * repository's tree must not report that repository's commit.
 */
export function gitCommit(dir: string = root): string {
  if (git(dir, "rev-parse", "--show-toplevel") !== realpathSync(dir)) return "unknown";
  const commit = git(dir, "rev-parse", "--short=10", "HEAD") || "unknown";
  return commit + (git(dir, "status", "--porcelain", "--untracked-files=no") ? "-dirty" : "");
}

function selectedTargets(argv: string[]): string[] {
  const picked = argv.flatMap((a, i) => (a === "--target" && argv[i + 1] ? [argv[i + 1] as string] : []));
  for (const t of picked) {
    if (!(ALL_TARGETS as readonly string[]).includes(t)) throw new Error(`unknown target ${t}`);
  }
  return picked.length > 0 ? picked : [...ALL_TARGETS];
}

/** The `bun build --compile` arguments for one target. */
export function compileArgs(target: string, commit: string, workers: string[], outfile: string): string[] {
  return [
    "build",
    "--compile",
    `--target=bun-${target}`,
    "--minify-syntax",
    "--minify-whitespace",
    "--sourcemap=none",
    // Bytecode compiled at build time: the binary skips parsing its ~10 MB bundle at every start
    // (--version ~60 -> ~20 ms, serve to first /healthz ~130 -> ~60 ms). ESM needs --format.
    "--bytecode",
    "--format=esm",
    // Each dynamic import() is its own chunk, loaded when reached: main.ts restarts the process for
    // the allocator (config/allocator.ts) before the program is loaded, so that first start no
    // longer pays for loading the whole bundle (--version 223 -> 105 ms; an unchanged medium
    // re-backup ~1.25 -> ~1.07 s), and a command loads only what it imports.
    "--splitting",
    // A product binary must not read .env or bunfig.toml (whose `preload` runs code) from the cwd.
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig",
    `--define=BACKAPP_BUILD_COMMIT=${JSON.stringify(commit)}`,
    "src/main.ts",
    ...workers,
    "--outfile",
    outfile,
  ];
}

/** The files the generated module embeds (views, static assets, migrations), relative to the project. */
export function embeddedFiles(generated: string): string[] {
  return [...generated.matchAll(/^import \w+ from "([^"]+)" with/gm)].map((m) =>
    relative(root, join(root, "src/generated", m[1] as string)),
  );
}

/**
 * dist/MANIFEST.json: what each binary must contain, for checks of binaries that cannot run here
 * (the darwin ones): version, commit, and the embedded files.
 */
export interface BuildManifest {
  version: string;
  commit: string;
  targets: Record<string, { file: string; size: number; sha256: string }>;
  embedded: string[];
}

async function buildTarget(target: string, commit: string, workers: string[]): Promise<string> {
  const outfile = join(dist, `backapp-${target}`);
  const args = compileArgs(target, commit, workers, outfile);
  const proc = Bun.spawn([process.execPath, ...args], { cwd: root, stdout: "inherit", stderr: "inherit" });
  if ((await proc.exited) !== 0) throw new Error(`bun build failed for ${target}`);
  return outfile;
}

async function main() {
  mkdirSync(join(root, "src/generated"), { recursive: true });
  const generated = generate();
  writeFileSync(join(root, "src/generated/embedded.ts"), generated);
  const targets = selectedTargets(process.argv.slice(2));
  const commit = gitCommit();
  const workers = [...new Glob("src/**/*-worker.ts").scanSync({ cwd: root })].sort();
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  console.log(
    `backapp ${pkg.version}+${commit}: building ${targets.join(", ")}; workers: ${workers.join(", ") || "none"}`,
  );
  const sums: string[] = [];
  const manifest: BuildManifest = {
    version: pkg.version,
    commit,
    targets: {},
    embedded: embeddedFiles(generated),
  };
  for (const target of targets) {
    const file = await buildTarget(target, commit, workers);
    const bytes = readFileSync(file);
    const digest = createHash("sha256").update(bytes).digest("hex");
    sums.push(`${digest}  ${relative(dist, file)}`);
    manifest.targets[target] = { file: relative(dist, file), size: bytes.length, sha256: digest };
  }
  writeFileSync(join(dist, "SHA256SUMS"), `${sums.join("\n")}\n`);
  writeFileSync(join(dist, "MANIFEST.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`wrote ${targets.length} binaries, dist/SHA256SUMS and dist/MANIFEST.json`);
}

if (import.meta.main) await main();
