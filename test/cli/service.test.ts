/**
 * `backapp service` for the user scope with a temporary HOME. Where a running service manager is
 * needed, PATH leads to the systemctl stand-in (test/fixtures/service-shim: systemd is not PID 1
 * here), which records calls and runs the unit's ExecStart as a plain process.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runBackapp } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp.ts";

const root = join(import.meta.dirname, "..", "..");
const shim = join(root, "test", "fixtures", "service-shim");
const dirs: { cleanup(): void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

function home(withManager: boolean) {
  const d = tempDir();
  dirs.push(d);
  const shimDir = join(d.path, "shim");
  mkdirSync(shimDir);
  const env = {
    HOME: join(d.path, "home"),
    XDG_CONFIG_HOME: "",
    XDG_DATA_HOME: "",
    SHIM_DIR: shimDir,
    // Without the stand-in: no systemctl at all, as on a machine without systemd.
    PATH: withManager ? `${shim}:/usr/bin:/bin` : join(d.path, "empty"),
  };
  const unit = join(env.HOME, ".config", "systemd", "user", "backapp.service");
  const calls = () =>
    existsSync(join(shimDir, "calls.log")) ? readFileSync(join(shimDir, "calls.log"), "utf8") : "";
  return { env, unit, calls, data: join(env.HOME, ".local", "share", "backapp") };
}

describe("backapp service", () => {
  it("install writes the user unit and creates the data dir; without a service manager it says how to start instead", async () => {
    const h = home(false);
    const r = await runBackapp(
      ["service", "install", "--user", "--exec", "/opt/backapp", "--listen", ":9099"],
      {
        env: h.env,
      },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote ${h.unit} (listen :9099, data dir ${h.data})`);
    expect(r.stdout).toContain("is not running here");
    expect(readFileSync(h.unit, "utf8")).toContain(
      `ExecStart=/opt/backapp serve --listen :9099 --data-dir ${h.data}`,
    );
    expect(existsSync(h.data)).toBe(true);

    const start = await runBackapp(["service", "start", "--user"], { env: h.env });
    expect(start.code).toBe(1);
    expect(start.stderr).toContain("systemd (user instance) is not running here");

    // A re-install keeps the installed address and data dir unless told otherwise.
    await runBackapp(["service", "install", "--user", "--exec", "/opt/backapp2"], { env: h.env });
    const status = await runBackapp(["service", "status", "--user"], { env: h.env });
    expect(status.code).toBe(3);
    expect(status.stdout).toContain("listen: :9099\nurl: http://127.0.0.1:9099\n");
    expect(status.stdout).toContain(`data dir: ${h.data}\n`);
    expect(readFileSync(h.unit, "utf8")).toContain("ExecStart=/opt/backapp2 serve --listen :9099");
  });

  it("--dry-run prints the actions and the unit and writes nothing", async () => {
    const h = home(true);
    const r = await runBackapp(["service", "install", "--user", "--exec", "/opt/backapp", "--dry-run"], {
      env: h.env,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`would write ${h.unit}:\n`);
    expect(r.stdout).toContain("would systemctl --user enable backapp.service");
    expect(existsSync(h.env.HOME)).toBe(false);
    expect(h.calls()).not.toContain("enable");
  });

  it("install enables, start runs the server, status answers with its health, stop and uninstall end it", async () => {
    const h = home(true);
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const binary = join(root, "node_modules", ".bin", "bun");
    // From source the executable is bun: hand the unit a command line that runs main.ts.
    const exec = join(h.env.SHIM_DIR, "backapp");
    await Bun.write(exec, `#!/bin/sh\nexec ${binary} ${join(root, "src", "main.ts")} "$@"\n`);
    Bun.spawnSync(["chmod", "755", exec]);
    const install = await runBackapp(
      ["service", "install", "--user", "--exec", exec, "--listen", `127.0.0.1:${port}`],
      { env: h.env },
    );
    expect(install.stdout).toContain("start it now with: backapp service start --user");
    expect(install.stdout).toContain("loginctl enable-linger");
    expect(h.calls()).toContain("systemctl --user daemon-reload\nsystemctl --user enable backapp.service\n");
    try {
      expect((await runBackapp(["service", "start", "--user"], { env: h.env })).code).toBe(0);
      const status = await runBackapp(["service", "status", "--user", "--wait", "30"], { env: h.env });
      expect(status.stdout).toContain("state: active\nenabled: enabled\n");
      expect(status.stdout).toMatch(/healthz: ok \d+\.\d+\.\d+\+dev\n/);
      expect(status.code).toBe(0);
    } finally {
      expect((await runBackapp(["service", "stop", "--user"], { env: h.env })).code).toBe(0);
    }
    const stopped = await runBackapp(["service", "status", "--user", "--wait", "0"], { env: h.env });
    expect(stopped.stdout).toContain("state: inactive");
    expect(stopped.stdout).toContain("healthz: no answer within 0 s");
    expect(stopped.code).toBe(3);
    // A unit with its own data dir: uninstall names that one.
    await runBackapp(
      ["service", "install", "--user", "--exec", exec, "--data-dir", join(h.env.SHIM_DIR, "d")],
      {
        env: h.env,
      },
    );
    const gone = await runBackapp(["service", "uninstall", "--user"], { env: h.env });
    expect(gone.stdout).toContain(`the data stays in ${join(h.env.SHIM_DIR, "d")}`);
    expect(existsSync(h.unit)).toBe(false);
    expect(h.calls()).toContain("systemctl --user disable --now backapp.service");
  });

  it("refuses bad usage with exit 2", async () => {
    const h = home(false);
    for (const args of [
      ["service"],
      ["service", "reboot"],
      ["service", "status", "--system", "--user"],
      ["service", "install", "--user", "--exec", "/x", "--listen", "nope"],
      // From source there is no backapp binary to point the unit at.
      ["service", "install", "--user"],
    ]) {
      const r = await runBackapp(args, { env: h.env });
      expect(r.code, args.join(" ")).toBe(2);
    }
    const notInstalled = await runBackapp(["service", "stop", "--user"], { env: h.env });
    expect(notInstalled.code).toBe(1);
    expect(notInstalled.stderr).toContain("not installed as a user service");
  });
});
