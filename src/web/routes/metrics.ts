/**
 * GET /metrics in the Prometheus text format (prom-client, its own Registry per database, never
 * the global one). Values are read from SQLite at scrape time. Access: see metrics-access.ts.
 * More gauges (running jobs, queue length) join the same registry through metricsRegistry(db):
 * `new Gauge({ name, help, registers: [metricsRegistry(db)], collect() { this.set(...) } })`.
 */
import { Hono } from "hono";
import { Gauge, Registry } from "prom-client";
import type { Db } from "../../db/client.ts";
import { lastDurationByJob, lastSuccessByJob, openAlerts, runsByJob, usersByRole } from "../../db/metrics.ts";
import type { JobService } from "../../jobs/service.ts";
import { version } from "../../util/version.ts";
import type { AppEnv } from "../context.ts";
import { errorResponse } from "../errors.ts";
import { metricsAccess, metricsTokenMatches } from "../metrics-access.ts";

const registries = new WeakMap<Db, Registry>();

type Rows = { labels: Record<string, string>; value: number }[];

/** A gauge whose values are recomputed from `read()` at every scrape. */
function dbGauge(registry: Registry, name: string, help: string, labelNames: string[], read: () => Rows) {
  return new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const { labels, value } of read()) this.set(labels, value);
    },
  });
}

const job = (configId: string | null, name: string | null) => ({ job_id: configId ?? "", job: name ?? "" });

function createRegistry(db: Db): Registry {
  const registry = new Registry();
  dbGauge(registry, "backapp_info", "Version of this backapp server.", ["version"], () => [
    { labels: { version }, value: 1 },
  ]);
  dbGauge(registry, "backapp_users", "Accounts by role and state.", ["role", "disabled"], () =>
    usersByRole(db).map((r) => ({ labels: { role: r.role, disabled: String(r.disabled) }, value: r.n })),
  );
  dbGauge(registry, "backapp_alerts_open", "Unresolved alerts.", ["type", "kind", "acknowledged"], () =>
    openAlerts(db).map((r) => ({
      labels: { type: r.type, kind: r.kind, acknowledged: String(r.acknowledged) },
      value: r.n,
    })),
  );
  const runs = () => runsByJob(db);
  dbGauge(
    registry,
    "backapp_runs",
    "Backup runs in the history, by job and status.",
    ["job_id", "job", "status"],
    () => runs().map((r) => ({ labels: { ...job(r.configId, r.name), status: r.status }, value: r.n })),
  );
  dbGauge(
    registry,
    "backapp_bytes_added",
    "Bytes uploaded by the backup runs in the history, by job.",
    ["job_id", "job", "status"],
    () =>
      runs().map((r) => ({ labels: { ...job(r.configId, r.name), status: r.status }, value: r.bytes ?? 0 })),
  );
  dbGauge(
    registry,
    "backapp_last_success_timestamp_seconds",
    "End of the last successful backup per job (Unix seconds); absent for a job without one.",
    ["job_id", "job"],
    () =>
      lastSuccessByJob(db)
        .filter((r) => r.at !== null)
        .map((r) => ({ labels: job(r.configId, r.name), value: Math.floor(Number(r.at) / 1000) })),
  );
  dbGauge(
    registry,
    "backapp_last_run_duration_seconds",
    "Duration of the latest finished backup per job.",
    ["job_id", "job"],
    () =>
      lastDurationByJob(db).map((r) => ({
        labels: job(r.configId, r.name),
        value: Number(r.durationMs) / 1000,
      })),
  );
  return registry;
}

/** The registry of this database's metrics, made on first use. */
export function metricsRegistry(db: Db): Registry {
  let registry = registries.get(db);
  if (!registry) {
    registry = createRegistry(db);
    registries.set(db, registry);
  }
  return registry;
}

const withJobGauges = new WeakSet<Registry>();

/** Live gauges read from the running JobService (not the database): added once per registry. */
function addJobGauges(registry: Registry, jobs: Pick<JobService, "stats">): void {
  if (withJobGauges.has(registry)) return;
  withJobGauges.add(registry);
  dbGauge(registry, "backapp_running_jobs", "Backup runs going now.", [], () => [
    { labels: {}, value: jobs.stats().running },
  ]);
  dbGauge(registry, "backapp_queue_length", "Runs waiting in the run queue.", [], () => [
    { labels: {}, value: jobs.stats().queued },
  ]);
}

const PROXY_HEADERS = ["x-forwarded-for", "forwarded", "x-real-ip"];
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

export function metricsRoutes() {
  const app = new Hono<AppEnv>();

  app.get("/metrics", async (c) => {
    const { db } = c.get("services");
    const access = metricsAccess(db);
    if (access.mode === "token") {
      const auth = c.req.header("authorization") ?? "";
      const token = auth.toLowerCase().startsWith("bearer ") ? auth.slice(7).trim() : "";
      if (!metricsTokenMatches(access, token)) {
        c.header("WWW-Authenticate", 'Bearer realm="backapp metrics"');
        return errorResponse(c, 401, "Send the metrics token as a Bearer token.");
      }
    } else if (!LOOPBACK.test(c.get("clientIp")) || PROXY_HEADERS.some((h) => c.req.header(h))) {
      // A request relayed by a local reverse proxy comes from loopback too: refuse what was proxied.
      return errorResponse(c, 404, "There is nothing at this address.");
    }
    const registry = metricsRegistry(db);
    addJobGauges(registry, c.get("services").jobs);
    c.header("Content-Type", registry.contentType);
    c.header("Cache-Control", "no-store");
    return c.body(await registry.metrics());
  });

  return app;
}
