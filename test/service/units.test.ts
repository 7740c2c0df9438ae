/** The service definitions: checked by the tools that read them (systemd-analyze, Python's plistlib). */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  flagValue,
  installedArgs,
  launchdPlist,
  type ServiceSpec,
  systemdUnit,
} from "../../src/service/units.ts";
import { tempDir } from "../helpers/temp.ts";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

// systemd-analyze verify wants ExecStart to exist and be executable.
const executable = join(tmp.path, "bin dir", "backapp");
Bun.spawnSync(["mkdir", "-p", join(tmp.path, "bin dir")]);
writeFileSync(executable, "#!/bin/sh\n", { mode: 0o755 });

const spec = (scope: "system" | "user", extra: Partial<ServiceSpec> = {}): ServiceSpec => ({
  scope,
  executable,
  listen: "127.0.0.1:8080",
  dataDir: "/var/lib/back app/100%",
  ...extra,
});

describe("systemd units", () => {
  it("the system unit passes systemd-analyze verify and carries the hardening that still lets root read everything", () => {
    const file = join(tmp.path, "backapp.service");
    const unit = systemdUnit(spec("system"));
    writeFileSync(file, unit);
    const r = Bun.spawnSync(["systemd-analyze", "verify", file]);
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
    for (const line of [
      "NoNewPrivileges=yes",
      "ProtectSystem=full",
      "PrivateTmp=yes",
      "Restart=on-failure",
      "KillSignal=SIGTERM",
      "TimeoutStopSec=30",
      "WantedBy=multi-user.target",
    ]) {
      expect(unit).toContain(`\n${line}\n`);
    }
    // Root, so no User=; nothing that hides files from the backups (ProtectHome, ProtectSystem=strict).
    expect(unit).not.toMatch(/^(User|ProtectHome|DynamicUser)=/m);
    expect(unit).not.toContain("ProtectSystem=strict");
  });

  it("quotes paths with spaces and escapes % and $, and reads its own command line back", () => {
    const unit = systemdUnit(spec("user", { dataDir: "/data/a b/100%/$HOME" }));
    expect(unit).toContain(`"/data/a b/100%%/$$HOME"`);
    const args = installedArgs(unit);
    expect(args[0]).toBe(executable);
    expect(flagValue(args, "--data-dir")).toBe("/data/a b/100%/$HOME");
    expect(flagValue(args, "--listen")).toBe("127.0.0.1:8080");
    expect(unit).toContain("WantedBy=default.target");
    expect(unit).not.toContain("ProtectSystem");
  });
});

describe("launchd plists", () => {
  it("parse with plistlib and have the label, arguments, KeepAlive on failure and log paths", () => {
    const file = join(tmp.path, "org.backapp.server.plist");
    const text = launchdPlist(spec("user", { logDir: "/Users/me/Library/Logs/backapp", dataDir: "/d/<&>" }));
    writeFileSync(file, text);
    const r = Bun.spawnSync([
      "python3",
      "-c",
      "import json, plistlib, sys; print(json.dumps(plistlib.load(open(sys.argv[1], 'rb'))))",
      file,
    ]);
    expect(r.stderr.toString()).toBe("");
    const plist = JSON.parse(r.stdout.toString());
    expect(plist).toEqual({
      Label: "org.backapp.server",
      ProgramArguments: [executable, "serve", "--listen", "127.0.0.1:8080", "--data-dir", "/d/<&>"],
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      ThrottleInterval: 5,
      ExitTimeOut: 30,
      Umask: 63,
      StandardOutPath: "/Users/me/Library/Logs/backapp/backapp.log",
      StandardErrorPath: "/Users/me/Library/Logs/backapp/backapp.err.log",
    });
    expect(flagValue(installedArgs(text), "--data-dir")).toBe("/d/<&>");
  });
});
