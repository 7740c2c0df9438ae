import { resolveDataDir } from "../config/index.ts";
import { servicePaths } from "../config/service.ts";
import {
  checkClock,
  checkDatabase,
  checkDataDir,
  checkFreeSpace,
  checkSecretKey,
  countSealedSecrets,
  type Finding,
} from "../doctor/checks.ts";
import { checkDestinations, checkService } from "../doctor/probes.ts";
import { spawnRunner } from "../service/manager.ts";
import { systemClock } from "../util/clock.ts";
import { parseFlags, UsageError } from "./args.ts";
import type { Command } from "./io.ts";

const usage = `Usage: backapp doctor [--data-dir DIR]

Checks an installation and prints what to fix: the data dir's owner and modes, the secret key
file, the database (PRAGMA integrity_check, read-only: safe while the server runs), the service
state, the clock, free space, and whether each destination is reachable.
Exit 0 when nothing is wrong (warnings allowed), 1 when something is.

Flags:
  --data-dir DIR   where backapp.db lives (env BACKAPP_DATA_DIR, default: the platform's data dir)
`;

const MARK: Record<Finding["level"], string> = { ok: "ok  ", info: "info", warn: "warn", fail: "FAIL" };

export const doctorCommand: Command = {
  name: "doctor",
  summary: "check the data dir, database, service, clock, disk and destinations; say what to fix",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, { "data-dir": { type: "string" } });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const dataDir = resolveDataDir(flags["data-dir"], io.env);
    const findings: Finding[] = [...checkDataDir(dataDir, process.getuid?.() ?? -1)];
    const database = checkDatabase(dataDir);
    findings.push(database.finding);
    try {
      findings.push(checkSecretKey(dataDir, database.db ? countSealedSecrets(database.db) : 0));
      findings.push(
        checkService([servicePaths("system", io.env), servicePaths("user", io.env)], spawnRunner(io.env)),
      );
      findings.push(checkClock(database.db, systemClock));
      findings.push(checkFreeSpace(dataDir));
      findings.push(...(await checkDestinations(database.db)));
    } finally {
      database.db?.close();
    }
    for (const f of findings) {
      io.stdout(`${MARK[f.level]}  ${f.message}\n${f.fix ? `      fix: ${f.fix}\n` : ""}`);
    }
    const failed = findings.filter((f) => f.level === "fail").length;
    io.stdout(failed === 0 ? "\nnothing to fix\n" : `\n${failed} problem${failed === 1 ? "" : "s"} to fix\n`);
    return failed === 0 ? 0 : 1;
  },
};
