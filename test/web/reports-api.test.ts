/**
 * Reports and storage through the real server with real runs: JSON and CSV rows match the
 * database, formula cells are neutralised, the PDF parses and names every job (Cyrillic and Greek
 * included), storage usage matches `backapp stats --json`, prices are the user's own.
 */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { PDFParse } from "pdf-parse";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALICE,
  type AuthTestServer,
  addUser,
  type Browser,
  setupAdmin,
  startAuthServer,
} from "../helpers/auth-server.ts";
import { runBackapp } from "../helpers/cli.ts";
import { build, dir, file } from "../helpers/fs-tree.ts";
import { tempDir } from "../helpers/temp.ts";

const PASSPHRASE = "a long repository passphrase";
const NAMES = ["Documents", "Фотографии Ωμέγα", '=HYPERLINK("http://x")'];

let server: AuthTestServer;
let admin: Browser;
let alice: Browser;
const work = tempDir("backapp-reports-");
const repo = join(work.path, "repo");
const jobIds: string[] = [];
let destinationId = "";

async function waitForEnd(b: Browser, logId: string): Promise<string> {
  for (let i = 0; i < 1200; i++) {
    const log = (await b.api("GET", `/api/backups/${logId}`)).json<{ status: string }>();
    if (log.status !== "queued" && log.status !== "running") return log.status;
    await Bun.sleep(100);
  }
  throw new Error(`run ${logId} did not end`);
}

interface Row {
  configId: string;
  name: string;
  runs: number;
  successes: number;
  failures: number;
  bytesAdded: number;
  durationMs: number;
  [k: string]: unknown;
}

beforeAll(async () => {
  server = await startAuthServer();
  admin = await setupAdmin(server);
  alice = await addUser(server, admin, ALICE);
  const d = await admin.api("POST", "/api/destinations", {
    type: "local",
    name: "disk",
    path: repo,
    password: PASSPHRASE,
  });
  destinationId = d.json<{ id: string }>().id;
  for (const [i, name] of NAMES.entries()) {
    const src = join(work.path, `src${i}`);
    build(src, {
      "a.txt": file(`job ${i} `.repeat(1000 * (i + 1))),
      sub: dir({ "b.bin": file(new Uint8Array(50_000).fill(i)) }),
    });
    const j = await admin.api("POST", "/api/configs", {
      name,
      sources: [{ path: src }],
      destinationId,
      schedule: { cronExpression: "", timezone: "UTC" },
    });
    expect(j.status).toBe(201);
    jobIds.push(j.json<{ id: string }>().id);
  }
  // Two runs of the first job, one of each other.
  for (const id of [jobIds[0], jobIds[0], jobIds[1], jobIds[2]]) {
    const r = await admin.api("POST", `/api/backups/execute/${id}`);
    expect(await waitForEnd(admin, r.json<{ logId: string }>().logId)).toBe("completed");
  }
}, 180_000);

afterAll(async () => {
  await server.stop();
  work.cleanup();
});

function dbTotals(configId: string) {
  const db = new Database(join(server.dataDir, "backapp.db"), { readonly: true });
  try {
    return db
      .query(
        `select count(*) as runs, sum(status = 'completed') as successes, sum(status in ('failed','missed')) as failures,
         coalesce(sum(bytes_transferred),0) as bytesAdded, coalesce(sum(duration_ms),0) as durationMs
         from backup_logs where config_id = ? and kind = 'backup'`,
      )
      .get(configId) as {
      runs: number;
      successes: number;
      failures: number;
      bytesAdded: number;
      durationMs: number;
    };
  } finally {
    db.close();
  }
}

describe("/api/reports", () => {
  it("JSON rows per job match the database", async () => {
    const r = await admin.api("GET", "/api/reports");
    expect(r.status).toBe(200);
    const items = r.json<{ items: Row[] }>().items;
    expect(items.map((i) => i.name).sort()).toEqual([...NAMES].sort());
    for (const item of items) {
      const t = dbTotals(item.configId);
      expect({
        runs: item.runs,
        successes: item.successes,
        failures: item.failures,
        bytesAdded: item.bytesAdded,
        durationMs: item.durationMs,
      }).toEqual(t);
    }
    expect(items.find((i) => i.name === "Documents")?.runs).toBe(2);
    const one = (await admin.api("GET", `/api/reports?configId=${jobIds[1]}`)).json<{ items: Row[] }>().items;
    expect(one.map((i) => i.name)).toEqual([NAMES[1]]);
    expect((await alice.api("GET", "/api/reports")).json<{ items: Row[] }>().items).toEqual([]);
    expect((await admin.api("GET", "/api/reports?from=nonsense")).status).toBe(400);
  });

  it("CSV: BOM, quoting, rows match the database, formula cells neutralised", async () => {
    const r = await admin.request("GET", "/api/reports?format=csv");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("text/csv");
    // fetch's text() drops a BOM: read the bytes.
    const cookie = [...admin.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    const raw = Buffer.from(
      await (await fetch(`${server.url}/api/reports?format=csv`, { headers: { cookie } })).arrayBuffer(),
    );
    expect([...raw.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows = parse(raw.subarray(3).toString("utf8"), { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(3);
    const byName = new Map(rows.map((row) => [row.job, row]));
    expect(byName.get('\'=HYPERLINK("http://x")')).toBeDefined();
    expect(byName.has('=HYPERLINK("http://x")')).toBe(false);
    expect(byName.get(NAMES[1] as string)).toBeDefined();
    const report = (await admin.api("GET", "/api/reports")).json<{ items: Row[] }>().items;
    for (const item of report) {
      const t = dbTotals(item.configId);
      const key = item.name.startsWith("=") ? `'${item.name}` : item.name;
      const row = byName.get(key);
      expect(row).toMatchObject({
        runs: String(t.runs),
        successes: String(t.successes),
        failures: String(t.failures),
        bytes_added: String(t.bytesAdded),
        duration_ms: String(t.durationMs),
      });
    }
  });

  it("PDF parses and names every job, non-Latin ones included", async () => {
    const r = await admin.request("GET", "/api/reports?format=pdf");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/pdf");
    const cookie = [...admin.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    const buf = Buffer.from(
      await (await fetch(`${server.url}/api/reports?format=pdf`, { headers: { cookie } })).arrayBuffer(),
    );
    expect(buf.subarray(0, 5).toString()).toBe("%PDF-");
    const parser = new PDFParse({ data: buf });
    const text = (await parser.getText()).text;
    await parser.destroy();
    for (const name of NAMES) expect(text).toContain(name);
    expect(text).toContain("Backup report");
  });
});

describe("/api/storage/usage", () => {
  it("matches backapp stats, and the cost uses the user's prices", async () => {
    const r = await admin.api("GET", "/api/storage/usage");
    expect(r.status).toBe(200);
    const u = r.json<{ items: Record<string, unknown>[] }>().items;
    expect(u).toHaveLength(1);
    const out = await runBackapp(["stats", "--repo", repo, "--json"], {
      env: { BACKAPP_PASSWORD: PASSPHRASE },
    });
    expect(out.code).toBe(0);
    const s = JSON.parse(out.stdout) as Record<string, number>;
    expect(u[0]).toMatchObject({
      destinationId,
      storedBytes: s.stored_size,
      objects: s.packs,
      snapshots: s.snapshots,
      logicalBytes: s.latest_size,
      dedupRatio: s.dedup_ratio,
      compressionRatio: s.compression_ratio,
      error: null,
    });
    expect(u[0]?.price).toMatchObject({ storageClass: "LOCAL", perGbMonth: 0, source: "default" });
    const put = await admin.api("PUT", `/api/storage/prices/${destinationId}`, {
      perGbMonth: 512,
      putPer1000: 0,
      getPer1000: 0,
    });
    expect(put.status).toBe(200);
    const after = (await admin.api("GET", "/api/storage/usage")).json<{
      items: { monthlyCost: { storage: number } }[];
    }>().items;
    const expected = Math.round(((s.stored_size ?? 0) / 1024 ** 3) * 512 * 10_000) / 10_000;
    expect(after[0]?.monthlyCost.storage).toBe(expected);
    expect(
      (
        await alice.api("PUT", `/api/storage/prices/${destinationId}`, {
          perGbMonth: 1,
          putPer1000: 0,
          getPer1000: 0,
        })
      ).status,
    ).toBe(404);
    expect((await alice.api("GET", "/api/storage/usage")).json<{ items: unknown[] }>().items).toEqual([]);
  });

  it("the /reports page shows jobs and storage", async () => {
    const page = await admin.request("GET", "/reports");
    expect(page.status).toBe(200);
    expect(page.text).toContain("Фотографии Ωμέγα");
    expect(page.text).toContain("Storage and estimated cost");
    expect(page.text).toContain("Restore drills: every 30 days per job");
  });
});
