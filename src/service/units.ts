/**
 * The one source of truth for backapp's service definitions: a systemd unit (system or user) or a
 * launchd plist (LaunchDaemon or LaunchAgent), rendered from what the server needs to start.
 * Pure text in, text out; writing and telling the service manager is manager.ts's job.
 */

export type ServiceScope = "system" | "user";

export interface ServiceSpec {
  scope: ServiceScope;
  /** Absolute path of the backapp executable the service runs. */
  executable: string;
  listen: string;
  dataDir: string;
  /** launchd only: where stdout/stderr go (systemd sends them to the journal). */
  logDir?: string;
}

export const SYSTEMD_UNIT = "backapp.service";
export const LAUNCHD_LABEL = "org.backapp.server";
/** Seconds the manager waits after SIGTERM: the server drains requests for 8 s, then cancels backups. */
export const STOP_TIMEOUT_S = 30;

export function serveArgs(spec: ServiceSpec): string[] {
  return [spec.executable, "serve", "--listen", spec.listen, "--data-dir", spec.dataDir];
}

/** One ExecStart word: quoted when needed; `%` and `$` are systemd specifiers/variables. */
function systemdWord(word: string): string {
  const escaped = word.replace(/%/g, "%%").replace(/\$/g, "$$$$");
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/**
 * The system unit runs as root so it can read everything it backs up (and restore owners); the
 * hardening below is what still allows that: no privilege gain, /usr /boot /etc read-only, a
 * private /tmp, no kernel tunables or modules.
 */
const SYSTEM_HARDENING = [
  "NoNewPrivileges=yes",
  "ProtectSystem=full",
  "PrivateTmp=yes",
  "PrivateDevices=yes",
  "ProtectKernelTunables=yes",
  "ProtectKernelModules=yes",
  "ProtectKernelLogs=yes",
  "ProtectControlGroups=yes",
  "ProtectClock=yes",
  "ProtectHostname=yes",
  "RestrictSUIDSGID=yes",
  "RestrictRealtime=yes",
  "RestrictNamespaces=yes",
  "LockPersonality=yes",
  "SystemCallArchitectures=native",
];

export function systemdUnit(spec: ServiceSpec): string {
  const system = spec.scope === "system";
  return [
    "# Written by `backapp service install`; rewritten on upgrade. Put local changes (Environment=",
    "# BACKAPP_PUBLIC_URL=..., BACKAPP_TRUSTED_PROXIES=...) in `systemctl edit backapp` drop-ins.",
    "[Unit]",
    "Description=backapp backup server",
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=exec",
    `ExecStart=${serveArgs(spec).map(systemdWord).join(" ")}`,
    "Restart=on-failure",
    "RestartSec=5",
    "KillSignal=SIGTERM",
    "KillMode=mixed",
    `TimeoutStopSec=${STOP_TIMEOUT_S}`,
    "UMask=0077",
    ...(system ? SYSTEM_HARDENING : ["NoNewPrivileges=yes"]),
    "",
    "[Install]",
    `WantedBy=${system ? "multi-user.target" : "default.target"}`,
    "",
  ].join("\n");
}

function xml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** KeepAlive restarts the server when it exits with a failure (not after a clean stop). */
export function launchdPlist(spec: ServiceSpec): string {
  const logDir = spec.logDir ?? spec.dataDir;
  const args = serveArgs(spec)
    .map((a) => `    <string>${xml(a)}</string>`)
    .join("\n");
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
${args}
  </array>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>5</integer>
  <key>ExitTimeOut</key>
  <integer>${STOP_TIMEOUT_S}</integer>
  <key>Umask</key>
  <integer>63</integer>
  <key>StandardOutPath</key>
  <string>${xml(`${logDir}/backapp.log`)}</string>
  <key>StandardErrorPath</key>
  <string>${xml(`${logDir}/backapp.err.log`)}</string>
</dict>
</plist>
`;
}

/** Splits a systemd ExecStart value into words (double quotes and backslash escapes). */
function splitExecStart(value: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const m of value.matchAll(re)) {
    const word = m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] as string);
    words.push(word.replace(/\$\$/g, "$").replace(/%%/g, "%"));
  }
  return words;
}

function unxml(text: string): string {
  return text
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&");
}

/** The serve command line of an installed unit or plist, so a re-install keeps its settings. */
export function installedArgs(text: string): string[] {
  const exec = /^ExecStart=(.*)$/m.exec(text);
  if (exec?.[1]) return splitExecStart(exec[1]);
  const array = /<key>ProgramArguments<\/key>\s*<array>([\s\S]*?)<\/array>/.exec(text);
  if (!array?.[1]) return [];
  return [...array[1].matchAll(/<string>([\s\S]*?)<\/string>/g)].map((m) => unxml(m[1] as string));
}

/** The value after `flag` in a command line, if any. */
export function flagValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}
