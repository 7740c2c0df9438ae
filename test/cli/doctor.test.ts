/** `backapp doctor` against real data dirs: a healthy one, wrong modes, a damaged database, lost keys, a clock gone back. */
import { Database } from "bun:sqlite";
import {
  chmodSync,
  closeSync,
  mkdirSync,
  openSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ensureDataDir, openDatabase } from "../../src/db/client.ts";
import { loadServerKey } from "../../src/db/secret-box.ts";
import { runBackapp } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp.ts";

const dirs: { path: string; cleanup(): void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

let endpoint: ReturnType<typeof Bun.serve>;
beforeAll(() => {
  endpoint = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(null, { status: 403 }) });
});
afterAll(() => endpoint.stop(true));

/** A data dir as the server leaves it: 0700, backapp.db with the migrations, secret.key. */
function dataDir(): { root: string; data: string } {
  const d = tempDir();
  dirs.push(d);
  const data = join(d.path, "data");
  ensureDataDir(data);
  openDatabase(data).close();
  loadServerKey(data);
  return { root: d.path, data };
}

function sql(data: string, statements: string[]): void {
  const db = new Database(join(data, "backapp.db"));
  for (const s of statements) db.run(s);
  db.close();
}

const doctor = (data: string, root: string) =>
  runBackapp(["doctor", "--data-dir", data], { env: { HOME: join(root, "home"), PATH: "/usr/bin:/bin" } });

describe("backapp doctor", () => {
  it("passes a healthy data dir and checks each destination", async () => {
    const { root, data } = dataDir();
    const repo = join(root, "repo");
    mkdirSync(repo);
    writeFileSync(join(repo, "config"), "x");
    sql(data, [
      "INSERT INTO users (id, email, name, password_hash) VALUES ('u1', 'a@example.com', 'A', 'x')",
      `INSERT INTO destinations (id, user_id, name, kind, settings) VALUES ('d1', 'u1', 'nas', 'local', '${JSON.stringify({ path: repo })}')`,
      `INSERT INTO destinations (id, user_id, name, kind, settings) VALUES ('d2', 'u1', 'minio', 's3', '${JSON.stringify({ bucket: "b", endpoint: `http://127.0.0.1:${endpoint.port}` })}')`,
    ]);
    const r = await doctor(data, root);
    expect(r.stdout).toContain(`ok    data dir ${data}: owner and modes`);
    expect(r.stdout).toContain("integrity ok");
    expect(r.stdout).toContain(`ok    destination "nas" (${repo}): reachable`);
    expect(r.stdout).toContain(`ok    destination "minio" (http://127.0.0.1:${endpoint.port}): reachable`);
    expect(r.stdout).toContain("service: not installed");
    expect(r.stdout).toContain("nothing to fix");
    expect(r.code).toBe(0);
  });

  it("flags a data dir and key open to others, with the chmod that fixes them", async () => {
    const { root, data } = dataDir();
    chmodSync(data, 0o755);
    chmodSync(join(data, "secret.key"), 0o644);
    const r = await doctor(data, root);
    expect(r.stdout).toContain(
      `FAIL  ${data} is open to other users (mode 0755)\n      fix: chmod 700 ${data}\n`,
    );
    expect(r.stdout).toContain(`fix: chmod 600 ${join(data, "secret.key")}`);
    expect(r.stdout).toContain("2 problems to fix");
    expect(r.code).toBe(1);
  });

  it("flags a corrupted database file", async () => {
    const { root, data } = dataDir();
    const file = join(data, "backapp.db");
    // Overwrite everything after the header page: the schema and the tables are gone.
    const fd = openSync(file, "r+");
    writeSync(fd, Buffer.alloc(statSync(file).size - 100, 0x5a), 0, undefined, 100);
    closeSync(fd);
    const r = await doctor(data, root);
    expect(r.stdout).toMatch(/FAIL {2}database .*backapp\.db is damaged: /);
    expect(r.stdout).toContain("restore backapp.db from your copy of the data dir");
    expect(r.code).toBe(1);
  });

  it("flags a lost secret key when secrets are sealed with it, an unreachable destination and a clock behind the database", async () => {
    const { root, data } = dataDir();
    rmSync(join(data, "secret.key"));
    const future = Date.now() + 3 * 3600_000;
    sql(data, [
      "INSERT INTO users (id, email, name, password_hash) VALUES ('u1', 'a@example.com', 'A', 'x')",
      `INSERT INTO destinations (id, user_id, name, kind, settings, secrets_enc) VALUES ('d1', 'u1', 'gone', 'local', '${JSON.stringify({ path: join(root, "nowhere") })}', 'v1:abc')`,
      `INSERT INTO audit_log (id, at, action) VALUES ('a1', ${future}, 'test')`,
    ]);
    const r = await doctor(data, root);
    expect(r.stdout).toContain("secret.key is missing but 1 stored secret(s) are sealed with it");
    expect(r.stdout).toContain('FAIL  destination "gone" is not reachable: ');
    expect(r.stdout).toMatch(
      /FAIL {2}the clock \(.*\) is 1[78]\d min behind the newest record in the database/,
    );
    expect(r.stdout).toContain("3 problems to fix");
    expect(r.code).toBe(1);
  });

  it("says so when there is no data dir", async () => {
    const d = tempDir();
    dirs.push(d);
    const r = await doctor(join(d.path, "none"), d.path);
    expect(r.stdout).toContain("does not exist");
    expect(r.code).toBe(1);
  });
});
