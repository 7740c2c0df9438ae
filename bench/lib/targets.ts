/**
 * Where the benchmarked repositories live: a local folder, or s3rver over HTTPS in its own process
 * (a self-signed certificate made with openssl; backapp trusts it through NODE_EXTRA_CA_CERTS,
 * restic through --cacert).
 */
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

export interface Target {
  label: string;
  /** Environment that points backapp at repository `name`. */
  backappEnv(name: string): Record<string, string>;
  /** Environment and extra flags that point restic at repository `name`. */
  resticEnv(name: string): Record<string, string>;
  resticArgs: string[];
  /** Folder holding repository `name`'s files (read through before a hot restore). */
  repoDir(name: string): string;
  /** Stored bytes of repository `name`. */
  repoBytes(name: string): number;
  /** Deletes repository `name`. */
  reset(name: string): void;
  stop(): void;
}

function sumFiles(dir: string, accept: (name: string) => boolean): number {
  let total = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && accept(e.name)) total += statSync(p).size;
    }
  };
  walk(dir);
  return total;
}

export function localTarget(dir: string): Target {
  const path = (name: string) => join(dir, `repo-${name}`);
  return {
    label: "local folder",
    backappEnv: (name) => ({ BACKAPP_REPO: path(name) }),
    resticEnv: (name) => ({ RESTIC_REPOSITORY: path(name) }),
    resticArgs: [],
    repoDir: path,
    repoBytes: (name) => sumFiles(path(name), () => true),
    reset: (name) => rmSync(path(name), { recursive: true, force: true }),
    stop: () => {},
  };
}

/** s3rver over https on `dir`/s3rver; with `keep`, repositories left there by a run are kept. */
export async function s3Target(dir: string, keep = false): Promise<Target> {
  const base = join(dir, "s3rver");
  if (!keep) rmSync(base, { recursive: true, force: true });
  mkdirSync(join(base, "data"), { recursive: true });
  const key = join(base, "key.pem");
  const cert = join(base, "cert.pem");
  const ssl = Bun.spawnSync(
    [
      "openssl",
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "2",
    ].concat(["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]),
    { stderr: "pipe" },
  );
  if (ssl.exitCode !== 0) throw new Error(`openssl failed: ${ssl.stderr.toString()}`);
  const bun = join(import.meta.dir, "..", "..", "node_modules", ".bin", "bun");
  const proc = Bun.spawn([bun, join(import.meta.dir, "s3rver-https.ts"), join(base, "data"), key, cert], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = proc.stdout.getReader();
  const first = await reader.read();
  const { endpoint, bucket } = JSON.parse(new TextDecoder().decode(first.value)) as {
    endpoint: string;
    bucket: string;
  };
  const creds = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" };
  const folder = (name: string) => join(base, "data", bucket, name);
  return {
    label: `s3rver over https (${endpoint})`,
    backappEnv: (name) => ({
      ...creds,
      BACKAPP_REPO: `s3://${bucket}/${name}`,
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: "us-east-1",
      NODE_EXTRA_CA_CERTS: cert,
    }),
    resticEnv: (name) => ({ ...creds, RESTIC_REPOSITORY: `s3:${endpoint}/${bucket}/${name}` }),
    resticArgs: ["--cacert", cert],
    repoDir: folder,
    repoBytes: (name) => sumFiles(folder(name), (n) => n.endsWith("._S3rver_object")),
    reset: (name) => rmSync(folder(name), { recursive: true, force: true }),
    stop: () => proc.kill(),
  };
}
