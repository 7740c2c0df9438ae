/**
 * `npm run release`: dist/ ready to publish as a release base URL — the four binaries (build.ts),
 * install.sh, SHA256SUMS covering all of them, MANIFEST.json, and RELEASE.md (version, commit,
 * sizes, checksums, how to install and verify).
 * Usage: bun scripts/release.ts
 */
import { createHash } from "node:crypto";
import { copyFileSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BuildManifest } from "../build.ts";

const root = join(import.meta.dirname, "..");
const dist = join(root, "dist");

function sha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

function size(bytes: number): string {
  return bytes < 2 ** 20 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

export function releaseNotes(
  manifest: BuildManifest,
  files: { name: string; size: number; sha256: string }[],
) {
  const tag = `${manifest.version}+${manifest.commit}`;
  return `# backapp ${tag}

- version: ${manifest.version}
- commit: ${manifest.commit}
- embedded: ${manifest.embedded.length} files (views, static assets, migrations)

| file | size | sha256 |
|---|---|---|
${files.map((f) => `| ${f.name} | ${size(f.size)} | \`${f.sha256}\` |`).join("\n")}

## Install

Publish this directory at a base URL, then on the machine (root: system service; otherwise: user service):

\`\`\`sh
curl -fsSL BASE/install.sh | BACKAPP_URL=BASE sh
\`\`\`

install.sh downloads \`backapp-<os>-<arch>\` and \`SHA256SUMS\` from BASE and refuses a binary whose checksum does
not match. Running it again upgrades in place and rolls back if the new version fails its health check.
To check a download by hand: \`sha256sum -c --ignore-missing SHA256SUMS\`.

## Tested how

- linux-x64: the test suite, the end-to-end tests and \`scripts/smoke-binary.ts\` run the binary itself.
- linux-arm64: \`scripts/smoke-binary.ts\` under qemu-user (\`.ci/run\`).
- darwin-x64, darwin-arm64: cannot run on the build machine; the test suite checks they are Mach-O executables
  for the right CPU that embed every view, asset and migration and this version.
`;
}

function main() {
  const build = Bun.spawnSync([process.execPath, "build.ts"], {
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
  });
  if (build.exitCode !== 0) process.exit(build.exitCode ?? 1);
  const manifest = JSON.parse(readFileSync(join(dist, "MANIFEST.json"), "utf8")) as BuildManifest;
  copyFileSync(join(root, "install.sh"), join(dist, "install.sh"));
  const names = [...Object.values(manifest.targets).map((t) => t.file), "install.sh"];
  const files = names.map((name) => {
    const file = join(dist, name);
    return { name, size: statSync(file).size, sha256: sha256(file) };
  });
  writeFileSync(join(dist, "SHA256SUMS"), files.map((f) => `${f.sha256}  ${f.name}\n`).join(""));
  writeFileSync(join(dist, "RELEASE.md"), releaseNotes(manifest, files));
  console.log(
    `release ${manifest.version}+${manifest.commit} in dist/: ${names.join(", ")}, SHA256SUMS, RELEASE.md`,
  );
}

if (import.meta.main) main();
