/**
 * Builds standalone executables: dist/backapp-<os>-<arch> for linux-x64, linux-arm64, darwin-x64
 * and darwin-arm64, plus dist/SHA256SUMS. Views, static assets and migrations are embedded through
 * src/generated/embedded.ts; worker files (src/**\/*-worker.ts) are extra entrypoints so
 * `new Worker(new URL("./x-worker.ts", import.meta.url))` works inside the binary.
 * Usage: bun build.ts [--target linux-x64]...   (default: all four)
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { Glob } from "bun";
import pkg from "./package.json" with { type: "json" };
import { generate } from "./scripts/gen-embedded.ts";

const ALL_TARGETS = ["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64"] as const;
const root = import.meta.dir;
const dist = join(root, "dist");

function gitCommit(): string {
  const r = Bun.spawnSync(["git", "rev-parse", "--short=10", "HEAD"], { cwd: root });
  const commit = r.success ? r.stdout.toString().trim() : "";
  const dirty = Bun.spawnSync(["git", "status", "--porcelain", "--untracked-files=no"], { cwd: root });
  return (commit || "unknown") + (dirty.success && dirty.stdout.toString().trim() ? "-dirty" : "");
}

function selectedTargets(argv: string[]): string[] {
  const picked = argv.flatMap((a, i) => (a === "--target" && argv[i + 1] ? [argv[i + 1] as string] : []));
  for (const t of picked) {
    if (!(ALL_TARGETS as readonly string[]).includes(t)) throw new Error(`unknown target ${t}`);
  }
  return picked.length > 0 ? picked : [...ALL_TARGETS];
}

async function buildTarget(target: string, commit: string, workers: string[]): Promise<string> {
  const outfile = join(dist, `backapp-${target}`);
  const args = [
    "build",
    "--compile",
    `--target=bun-${target}`,
    "--minify-syntax",
    "--minify-whitespace",
    "--sourcemap=none",
    `--define=BACKAPP_BUILD_COMMIT=${JSON.stringify(commit)}`,
    "src/main.ts",
    ...workers,
    "--outfile",
    outfile,
  ];
  const proc = Bun.spawn([process.execPath, ...args], { cwd: root, stdout: "inherit", stderr: "inherit" });
  if ((await proc.exited) !== 0) throw new Error(`bun build failed for ${target}`);
  return outfile;
}

async function main() {
  writeFileSync(join(root, "src/generated/embedded.ts"), generate());
  const targets = selectedTargets(process.argv.slice(2));
  const commit = gitCommit();
  const workers = [...new Glob("src/**/*-worker.ts").scanSync({ cwd: root })].sort();
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  console.log(
    `backapp ${pkg.version}+${commit}: building ${targets.join(", ")}; workers: ${workers.join(", ") || "none"}`,
  );
  const sums: string[] = [];
  for (const target of targets) {
    const file = await buildTarget(target, commit, workers);
    const digest = createHash("sha256").update(readFileSync(file)).digest("hex");
    sums.push(`${digest}  ${relative(dist, file)}`);
  }
  writeFileSync(join(dist, "SHA256SUMS"), `${sums.join("\n")}\n`);
  console.log(`wrote ${targets.length} binaries and dist/SHA256SUMS`);
}

await main();
