/** `backapp doctor`'s checks of the world outside the data dir: the service and the destinations. */
import type { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import type { ServicePaths } from "../config/service.ts";
import { type CommandRunner, managerRunning, serviceState } from "../service/manager.ts";
import { openBackend } from "../storage/open.ts";
import type { Finding } from "./checks.ts";

/** The installed service (system or user): running, or what to do. */
export function checkService(candidates: ServicePaths[], run: CommandRunner): Finding {
  const installed = candidates.find((p) => existsSync(p.file));
  if (!installed) {
    return { level: "info", message: "service: not installed (see `backapp service install`)" };
  }
  const scope = `--${installed.scope}`;
  if (!managerRunning(installed, run)) {
    return {
      level: "info",
      message: `service: ${installed.file} is installed; ${installed.manager} is not running here`,
    };
  }
  const { state } = serviceState(installed, run, true);
  if (state === "active") return { level: "ok", message: `service ${installed.file}: active` };
  const logs =
    installed.manager === "systemd"
      ? `journalctl ${installed.scope === "user" ? "--user " : ""}-u backapp -n 50`
      : `the log files in ${installed.logDir}`;
  return {
    level: state === "failed" ? "fail" : "warn",
    message: `service ${installed.file}: ${state}`,
    fix: `read ${logs}, then: backapp service start ${scope}`,
  };
}

interface DestinationRow {
  name: string;
  kind: string;
  settings: string;
}

const PROBE_TIMEOUT_MS = 10_000;

/**
 * Each destination answers: a local folder holds a repository `config`; an S3 endpoint answers
 * HTTP at all (credentials are sealed and checked by the runs themselves, not here).
 */
export async function checkDestinations(db: Database | undefined): Promise<Finding[]> {
  if (!db) return [];
  const table = db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'destinations'").get();
  if (!table) return [];
  const rows = db
    .query("SELECT name, kind, settings FROM destinations ORDER BY name")
    .all() as DestinationRow[];
  return Promise.all(rows.map((row) => probeDestination(row)));
}

async function probeDestination(row: DestinationRow): Promise<Finding> {
  const settings = JSON.parse(row.settings) as Record<string, string | undefined>;
  const label = `destination "${row.name}"`;
  try {
    if (row.kind === "local") {
      const backend = openBackend(settings.path ?? "", {}, { retry: { attempts: 1 } });
      try {
        await backend.stat("config", { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      } finally {
        await backend.close();
      }
      return { level: "ok", message: `${label} (${settings.path}): reachable` };
    }
    const endpoint = settings.endpoint || `https://s3.${settings.region || "us-east-1"}.amazonaws.com`;
    await fetch(endpoint, { method: "HEAD", signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    return { level: "ok", message: `${label} (${endpoint}): reachable` };
  } catch (error) {
    return {
      level: "fail",
      message: `${label} is not reachable: ${(error as Error).message}`,
      fix: "check the address, the network and that the repository exists (edit the destination in the web UI)",
    };
  }
}
