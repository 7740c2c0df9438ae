/**
 * `backapp doctor`'s checks of the data dir: ownership and modes, the secret key file, database
 * integrity, the clock against what the database recorded, and free space. Each check reads and
 * never changes anything; each finding says what to do about it.
 */
import { Database } from "bun:sqlite";
import { existsSync, readFileSync, statfsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Clock } from "../util/clock.ts";

export type Level = "ok" | "warn" | "fail" | "info";

export interface Finding {
  level: Level;
  /** What was checked and what was found. */
  message: string;
  /** What to do, for warn and fail. */
  fix?: string;
}

const DB_FILE = "backapp.db";
const KEY_FILE = "secret.key";

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

function octal(m: number): string {
  return m.toString(8).padStart(4, "0");
}

/** The data dir exists, is ours, and is closed to group and others; so are the files in it. */
export function checkDataDir(dataDir: string, uid: number): Finding[] {
  if (!existsSync(dataDir)) {
    return [
      {
        level: "fail",
        message: `data dir ${dataDir} does not exist`,
        fix: "start the server once (`backapp serve`) or give the right --data-dir",
      },
    ];
  }
  const st = statSync(dataDir);
  if (!st.isDirectory())
    return [{ level: "fail", message: `${dataDir} is not a directory`, fix: "give the right --data-dir" }];
  const findings: Finding[] = [];
  if (uid >= 0 && st.uid !== uid) {
    findings.push({
      level: "fail",
      message: `data dir ${dataDir} is owned by uid ${st.uid}, not by this user (uid ${uid})`,
      fix: `chown -R ${uid} ${dataDir} (or run doctor as the user the service runs as)`,
    });
  }
  for (const [path, want] of [
    [dataDir, 0o700],
    [join(dataDir, DB_FILE), 0o600],
    [join(dataDir, `${DB_FILE}-wal`), 0o600],
    [join(dataDir, KEY_FILE), 0o600],
  ] as const) {
    if (!existsSync(path)) continue;
    const m = mode(path);
    if (m & 0o077) {
      findings.push({
        level: "fail",
        message: `${path} is open to other users (mode ${octal(m)})`,
        fix: `chmod ${octal(want).slice(1)} ${path}`,
      });
    }
  }
  if (findings.length === 0) findings.push({ level: "ok", message: `data dir ${dataDir}: owner and modes` });
  return findings;
}

/** The key that seals stored secrets: present and well-formed, or not yet needed. */
export function checkSecretKey(dataDir: string, sealedSecrets: number): Finding {
  const path = join(dataDir, KEY_FILE);
  if (!existsSync(path)) {
    return sealedSecrets > 0
      ? {
          level: "fail",
          message: `${path} is missing but ${sealedSecrets} stored secret(s) are sealed with it`,
          fix: "restore secret.key from your copy of the data dir, or re-enter the secrets (SMTP password, destination keys)",
        }
      : { level: "ok", message: "secret key: not created yet (no sealed secrets)" };
  }
  // A key file is 45 bytes; a huge one is not ours (and is not worth reading whole).
  const key =
    statSync(path).size > 1024 ? Buffer.alloc(0) : Buffer.from(readFileSync(path, "utf8").trim(), "base64");
  if (key.length !== 32) {
    return {
      level: "fail",
      message: `${path} is not a backapp secret key (expected 32 bytes of base64)`,
      fix: "restore secret.key from your copy of the data dir",
    };
  }
  return { level: "ok", message: `secret key ${path}` };
}

export interface DatabaseFacts {
  finding: Finding;
  /** Open read-only when healthy, for the other checks; the caller closes it. */
  db?: Database;
}

/** `PRAGMA integrity_check` on a read-only connection (works while the server runs). */
export function checkDatabase(dataDir: string): DatabaseFacts {
  const path = join(dataDir, DB_FILE);
  if (!existsSync(path)) {
    return {
      finding: { level: "warn", message: `no database at ${path} yet`, fix: "start the server once" },
    };
  }
  let db: Database | undefined;
  try {
    db = new Database(path, { readonly: true });
    const rows = db.query("PRAGMA integrity_check").all() as { integrity_check: string }[];
    const problems = rows.map((r) => r.integrity_check).filter((r) => r !== "ok");
    if (problems.length > 0) throw new Error(problems.slice(0, 3).join("; "));
    return { finding: { level: "ok", message: `database ${path}: integrity ok` }, db };
  } catch (error) {
    db?.close();
    return {
      finding: {
        level: "fail",
        message: `database ${path} is damaged: ${(error as Error).message}`,
        fix: "stop the server, keep a copy of the file, then restore backapp.db from your copy of the data dir; the backups themselves are safe in their repositories",
      },
    };
  }
}

function tableExists(db: Database, name: string): boolean {
  return db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== null;
}

/** Secrets sealed with secret.key: destination keys and the SMTP password setting. */
export function countSealedSecrets(db: Database): number {
  let n = 0;
  if (tableExists(db, "destinations")) {
    n += (
      db.query("SELECT count(*) AS n FROM destinations WHERE secrets_enc IS NOT NULL").get() as { n: number }
    ).n;
  }
  if (tableExists(db, "settings")) {
    n += (db.query("SELECT count(*) AS n FROM settings WHERE value LIKE '%v1:%'").get() as { n: number }).n;
  }
  return n;
}

/** The clock must not be behind what the database already recorded (it went backwards). */
export function checkClock(db: Database | undefined, clock: Clock): Finding {
  const now = clock.now();
  let newest = 0;
  if (db) {
    for (const [table, column] of [
      ["audit_log", "at"],
      ["sessions", "created_at"],
      ["users", "created_at"],
    ] as const) {
      if (!tableExists(db, table)) continue;
      const row = db.query(`SELECT max(${column}) AS m FROM ${table}`).get() as { m: number | null };
      newest = Math.max(newest, row.m ?? 0);
    }
  }
  const behindMs = newest - now;
  if (behindMs > 60_000) {
    return {
      level: "fail",
      message: `the clock (${new Date(now).toISOString()}) is ${Math.round(behindMs / 60_000)} min behind the newest record in the database`,
      fix: "set the system time (enable NTP: timedatectl set-ntp true); schedules and sessions depend on it",
    };
  }
  return { level: "ok", message: `clock ${new Date(now).toISOString()}` };
}

const GiB = 2 ** 30;

/** Room for the database, logs and local repositories. */
export function checkFreeSpace(dataDir: string): Finding {
  if (!existsSync(dataDir)) return { level: "info", message: "free space: no data dir to measure" };
  const fs = statfsSync(dataDir);
  const free = fs.bavail * fs.bsize;
  const share = fs.blocks > 0 ? fs.bavail / fs.blocks : 1;
  const text = `${(free / GiB).toFixed(1)} GiB free (${(share * 100).toFixed(0)}%) on the data dir's file system`;
  if (free < 100 * 2 ** 20)
    return { level: "fail", message: text, fix: "free space: the database cannot grow" };
  if (free < GiB || share < 0.05) return { level: "warn", message: text, fix: "free some space soon" };
  return { level: "ok", message: text };
}
