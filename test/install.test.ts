import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "./helpers/temp.ts";

const root = join(import.meta.dirname, "..");
const dirs: { cleanup(): void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

function sh(args: string[], env: Record<string, string> = {}) {
  const r = Bun.spawnSync(["sh", join(root, "install.sh"), ...args], { env: { ...process.env, ...env } });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

/** A stand-in executable: the installer only copies, checks and runs `--version`. */
function fakeBinary(dir: string, name: string, body = 'echo "backapp 9.9.9+test"'): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

describe("install.sh", () => {
  it("installs a local binary into the prefix", () => {
    const d = tempDir();
    dirs.push(d);
    const bin = fakeBinary(d.path, "backapp-linux-x64");
    const r = sh(["--binary", bin, "--prefix", join(d.path, "bin")]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain(`installed backapp 9.9.9+test to ${join(d.path, "bin", "backapp")}`);
    expect(existsSync(join(d.path, "bin", "backapp"))).toBe(true);
  });

  it("refuses a binary whose checksum does not match SHA256SUMS", () => {
    const d = tempDir();
    dirs.push(d);
    const bin = fakeBinary(d.path, "backapp-linux-x64");
    writeFileSync(join(d.path, "SHA256SUMS"), `${"0".repeat(64)}  backapp-linux-x64\n`);
    const r = sh(["--binary", bin, "--prefix", join(d.path, "bin")]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("checksum mismatch");
    expect(existsSync(join(d.path, "bin", "backapp"))).toBe(false);
  });

  it("refuses a binary that does not run", () => {
    const d = tempDir();
    dirs.push(d);
    const bin = fakeBinary(d.path, "backapp-linux-x64", "exit 1");
    const r = sh(["--binary", bin, "--prefix", join(d.path, "bin")]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("does not run");
  });

  it("shows the systemd unit it would write with --service --dry-run", () => {
    const d = tempDir();
    dirs.push(d);
    const bin = fakeBinary(d.path, "backapp-linux-x64");
    const r = sh([
      "--binary",
      bin,
      "--prefix",
      join(d.path, "bin"),
      "--service",
      "--dry-run",
      "--listen",
      "127.0.0.1:9999",
    ]);
    if (!existsSync("/usr/bin/systemctl") && !existsSync("/bin/systemctl")) {
      expect(r.code).toBe(1);
      expect(r.err).toContain("systemctl not found");
    } else {
      expect(r.code).toBe(0);
      expect(r.out).toContain("ExecStart=");
      expect(r.out).toContain("serve --listen 127.0.0.1:9999");
    }
  });

  it("rejects unknown options with exit 2 and needs a source", () => {
    expect(sh(["--bogus"]).code).toBe(2);
    const r = sh([], { BACKAPP_URL: "" });
    expect(r.code).toBe(1);
    expect(r.err).toContain("--url");
  });

  it("is plain POSIX sh", () => {
    expect(readFileSync(join(root, "install.sh"), "utf8").startsWith("#!/bin/sh\n")).toBe(true);
  });
});
