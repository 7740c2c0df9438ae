/**
 * Destinations through the JSON API of the real app (real SQLite, s3rver over HTTP, real
 * folders): create S3 and local destinations (new repositories with a generated or given
 * passphrase), attach to an existing repository (wrong, missing and right passphrase, its
 * snapshots listed), write-only secrets, edits re-checked against the repository, 404 for other
 * users' ids, allowed roots for local folders, delete refused while a job uses it, and the
 * /api/s3 helpers (validate, test-connection naming step and code, buckets). No secret in any
 * answer, audit entry or log line.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { DestinationJson } from "../../src/jobs/destination-schema.ts";
import { openSpecRepository } from "../../src/jobs/repository-access.ts";
import { type TestS3, uniqueBucketName } from "../helpers/s3rver.ts";
import { type Answer, jobBody, type World } from "./configs-fixture.ts";
import { repositoryWithSnapshot, useDestinationWorld } from "./destinations-fixture.ts";

let w: World;
let s3: TestS3;
const answers: Answer[] = [];
/** A secret key s3rver accepts (it checks key ids, not signatures) and that nothing else contains. */
const SECRET_KEY = "sk-Hq8xVb2Lr0Zt5Wm9Nc4Pd7";
const GIVEN_PASS = "given-passphrase-Jf83kd02";
const ATTACH_PASS = "attach-passphrase-Qw72mz19";
const generated: string[] = [];

type Created = DestinationJson & {
  repository: { repositoryId: string; created: boolean; encrypted: boolean; snapshots: { id: string }[] };
  generatedPassword?: string;
};
type Problem = { error: { status: number; message: string; fields?: Record<string, string> } };

async function call(client: World["alice"], method: string, path: string, body?: unknown) {
  const r = await client.api(method, path, body);
  answers.push(r);
  return r;
}

function s3Body(extra: Record<string, unknown> = {}) {
  return {
    type: "s3",
    name: "bucket one",
    bucket: s3.bucket,
    prefix: "alice/laptop",
    region: s3.region,
    endpoint: s3.endpoint,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: SECRET_KEY,
    ...extra,
  };
}

const world = useDestinationWorld();
beforeAll(() => {
  ({ w, s3 } = world);
});

describe("destinations API", () => {
  let s3Id: string;

  it("creates an S3 destination with a new repository and a generated passphrase, answered once", async () => {
    const r = await call(w.alice, "POST", "/api/destinations", s3Body({ storageClass: "STANDARD_IA" }));
    expect(r.status).toBe(201);
    const d = r.json<Created>();
    s3Id = d.id;
    expect(d).toMatchObject({
      name: "bucket one",
      type: "s3",
      bucket: s3.bucket,
      prefix: "alice/laptop",
      endpoint: s3.endpoint,
      accessKeyId: "S3RVER",
      storageClass: "STANDARD_IA",
      path: null,
      secretAccessKeySet: true,
      passwordSet: true,
      encrypted: true,
    });
    expect(d).not.toHaveProperty("secretAccessKey");
    expect(d).not.toHaveProperty("password");
    expect(d.repository).toMatchObject({ created: true, snapshots: [] });
    expect(d.repositoryId).toBe(d.repository.repositoryId);
    expect(d.generatedPassword).toMatch(/^[A-Za-z0-9_-]{43}$/);
    generated.push(d.generatedPassword as string);
    // The generated passphrase opens the repository just made.
    const spec = {
      address: `s3://${s3.bucket}/alice/laptop`,
      s3: { endpoint: s3.endpoint, region: s3.region, accessKeyId: "S3RVER", secretAccessKey: SECRET_KEY },
      password: d.generatedPassword as string,
    };
    const repo = await openSpecRepository(spec, { lock: "none", workers: 0 });
    expect(repo.id).toBe(d.repositoryId);
    await repo.close();
    const again = (await call(w.alice, "GET", `/api/destinations/${d.id}`)).json<Created>();
    expect(again).not.toHaveProperty("generatedPassword");
    // The shape minus the write-only secrets, plus what is stored about them and the repository.
    expect(Object.keys(again).sort()).toEqual(
      [
        "id",
        "name",
        "type",
        "bucket",
        "prefix",
        "region",
        "endpoint",
        "accessKeyId",
        "storageClass",
        "caCertificate",
        "path",
        "secretAccessKeySet",
        "passwordSet",
        "repositoryId",
        "encrypted",
        "location",
        "userId",
        "createdAt",
        "updatedAt",
      ].sort(),
    );
    expect(again.createdAt).toBe("2026-01-01T00:00:00.000Z");
    expect(again).not.toHaveProperty("repository");
    expect(
      (await call(w.alice, "GET", "/api/destinations"))
        .json<{ items: DestinationJson[] }>()
        .items.map((x) => x.id),
    ).toContain(d.id);
  });

  it("creates local destinations: admins anywhere, users only inside their allowed roots", async () => {
    const outside = join(w.root, "..", "elsewhere");
    const refused = await call(w.alice, "POST", "/api/destinations", {
      type: "local",
      name: "disk",
      path: outside,
    });
    expect(refused.status).toBe(403);
    expect(refused.json<Problem>().error.fields).toHaveProperty("path");
    expect(existsSync(outside)).toBe(false);
    const relative = await call(w.alice, "POST", "/api/destinations", {
      type: "local",
      name: "disk",
      path: "rel/dir",
    });
    expect(relative.status).toBe(400);
    expect(relative.json<Problem>().error.fields?.path).toMatch(/absolute/);

    // A link inside the root that leads outside it is judged by where it leads.
    mkdirSync(outside, { recursive: true });
    symlinkSync(outside, join(w.root, "escape"));
    const viaLink = await call(w.alice, "POST", "/api/destinations", {
      type: "local",
      name: "disk",
      path: join(w.root, "escape", "repo"),
    });
    expect(viaLink.status).toBe(403);
    expect(viaLink.json<Problem>().error.fields).toHaveProperty("path");
    expect(existsSync(join(outside, "repo"))).toBe(false);

    const mine = await call(w.alice, "POST", "/api/destinations", {
      type: "local",
      name: "disk",
      path: join(w.root, "repo-new"),
      password: GIVEN_PASS,
    });
    expect(mine.status).toBe(201);
    const d = mine.json<Created>();
    expect(d).toMatchObject({
      type: "local",
      path: join(w.root, "repo-new"),
      bucket: null,
      secretAccessKeySet: false,
    });
    expect(d).not.toHaveProperty("generatedPassword");
    expect(existsSync(join(w.root, "repo-new", "config"))).toBe(true);

    const admins = await call(w.admin, "POST", "/api/destinations", {
      type: "local",
      name: "disk",
      path: outside,
    });
    expect(admins.status).toBe(201);
    generated.push(admins.json<Created>().generatedPassword as string);
  });

  it("two adds at one new location at once: one creates the repository, the other attaches to it", async () => {
    const path = join(w.root, "raced");
    const body = (name: string) => ({ type: "local", name, path, password: GIVEN_PASS });
    const [a, b] = await Promise.all([
      call(w.alice, "POST", "/api/destinations", body("race a")),
      call(w.alice, "POST", "/api/destinations", body("race b")),
    ]);
    expect([a.status, b.status]).toEqual([201, 201]);
    const [da, db] = [a.json<Created>(), b.json<Created>()];
    expect([da.repository.created, db.repository.created].sort()).toEqual([false, true]);
    expect(da.repositoryId).toBe(db.repositoryId);
  });

  it("refuses a folder that holds other files but no repository, and duplicate names", async () => {
    const busy = join(w.root, "busy");
    mkdirSync(busy, { recursive: true });
    writeFileSync(join(busy, "notes.txt"), "mine");
    const r = await call(w.alice, "POST", "/api/destinations", { type: "local", name: "busy", path: busy });
    expect(r.status).toBe(400);
    expect(r.json<Problem>().error.fields?.path).toMatch(/other files/);
    const dup = await call(w.alice, "POST", "/api/destinations", s3Body({ prefix: "other" }));
    expect(dup.status).toBe(400);
    expect(dup.json<Problem>().error.fields).toHaveProperty("name");
  });

  it("attaches to an existing repository: needs its passphrase, then lists its snapshots", async () => {
    const made = await repositoryWithSnapshot(s3, {
      prefix: "repo",
      secretAccessKey: SECRET_KEY,
      password: ATTACH_PASS,
      source: w.root,
    });
    const bucket = made.bucket;
    const body = s3Body({ name: "attached", bucket, prefix: "repo" });

    const missing = await call(w.alice, "POST", "/api/destinations", body);
    expect(missing.status).toBe(400);
    expect(missing.json<Problem>().error.fields?.password).toMatch(/already holds a repository/);
    const wrong = await call(w.alice, "POST", "/api/destinations", { ...body, password: "not-it" });
    expect(wrong.status).toBe(400);
    expect(wrong.json<Problem>().error.fields?.password).toMatch(/does not open/);

    const right = await call(w.alice, "POST", "/api/destinations", { ...body, password: ATTACH_PASS });
    expect(right.status).toBe(201);
    const d = right.json<Created>();
    expect(d.repository).toMatchObject({ created: false, repositoryId: made.repositoryId });
    expect(d.repository.snapshots.map((s) => s.id)).toEqual([made.snapshotId]);
    expect(d.repositoryId).toBe(made.repositoryId);
    expect(d).not.toHaveProperty("generatedPassword");
  });

  it("answers 404 for another user's destination, on every verb and in /api/s3", async () => {
    for (const [method, body] of [["GET"], ["PUT", s3Body()], ["DELETE"]] as const) {
      const r = await call(w.bob, method, `/api/destinations/${s3Id}`, body);
      expect(r.status).toBe(404);
    }
    expect((await call(w.bob, "GET", `/api/s3/buckets?destinationId=${s3Id}`)).status).toBe(404);
    const probe = await call(w.bob, "POST", "/api/s3/test-connection", { destinationId: s3Id });
    expect(probe.status).toBe(404);
    expect(
      (await call(w.bob, "GET", "/api/destinations"))
        .json<{ items: DestinationJson[] }>()
        .items.map((d) => d.id),
    ).not.toContain(s3Id);
    // Admins see everyone's.
    expect((await call(w.admin, "GET", `/api/destinations/${s3Id}`)).status).toBe(200);
  });

  it("edits keep empty secrets, and a new passphrase is stored only when it opens the repository", async () => {
    const { secretAccessKey: _s, ...noSecret } = s3Body({ name: "renamed", storageClass: "STANDARD_IA" });
    const renamed = await call(w.alice, "PUT", `/api/destinations/${s3Id}`, noSecret);
    expect(renamed.status).toBe(200);
    expect(renamed.json<DestinationJson>()).toMatchObject({ name: "renamed", secretAccessKeySet: true });

    const wrong = await call(w.alice, "PUT", `/api/destinations/${s3Id}`, {
      ...noSecret,
      password: "wrong-one",
    });
    expect(wrong.status).toBe(400);
    expect(wrong.json<Problem>().error.fields?.password).toMatch(/does not open/);

    const elsewhere = await call(w.alice, "PUT", `/api/destinations/${s3Id}`, {
      ...noSecret,
      prefix: "somewhere/else",
    });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.json<Problem>().error.fields?.form).toMatch(/no repository|not found/i);

    // The stored passphrase is unchanged: a change of the passphrase to the same value still opens.
    const same = await call(w.alice, "PUT", `/api/destinations/${s3Id}`, {
      ...noSecret,
      password: generated[0],
    });
    expect(same.status).toBe(200);
    const other = await call(w.alice, "PUT", `/api/destinations/${s3Id}`, {
      ...noSecret,
      accessKeyId: "OTHERKEY",
    });
    expect(other.status).toBe(400);
    expect(other.json<Problem>().error.fields).toHaveProperty("secretAccessKey");
  });

  it("refuses to delete a destination a job uses, naming the job; deleting leaves the bucket alone", async () => {
    const job = await call(
      w.alice,
      "POST",
      "/api/configs",
      jobBody(w, { destinationId: s3Id, name: "Laptop" }),
    );
    expect(job.status).toBe(201);
    const jobId = job.json<{ id: string }>().id;
    const refused = await call(w.alice, "DELETE", `/api/destinations/${s3Id}`);
    expect(refused.status).toBe(409);
    expect(refused.json<{ error: { jobs: { id: string; name: string }[] } }>().error.jobs).toEqual([
      { id: jobId, name: "Laptop" },
    ]);
    expect((await call(w.alice, "DELETE", `/api/configs/${jobId}`)).status).toBe(204);
    expect((await call(w.alice, "DELETE", `/api/destinations/${s3Id}`)).status).toBe(204);
    expect((await call(w.alice, "GET", `/api/destinations/${s3Id}`)).status).toBe(404);
    // The repository is still there: attaching again finds it.
    const back = await call(w.alice, "POST", "/api/destinations", { ...s3Body(), password: generated[0] });
    expect(back.status).toBe(201);
    expect(back.json<Created>().repository.created).toBe(false);
  });

  it("validates input per field", async () => {
    const r = await call(w.alice, "POST", "/api/destinations", {
      type: "s3",
      name: "",
      bucket: "Bad_Bucket",
      prefix: "a/../b",
      endpoint: "ftp://x",
      accessKeyId: "",
      storageClass: "DEEP_ARCHIVE",
      caCertificate: "not pem",
    });
    expect(r.status).toBe(400);
    expect(Object.keys(r.json<Problem>().error.fields ?? {}).sort()).toEqual(
      ["accessKeyId", "bucket", "caCertificate", "endpoint", "name", "prefix", "storageClass"].sort(),
    );
    const badType = await call(w.alice, "POST", "/api/destinations", { type: "ftp", name: "x" });
    expect(badType.status).toBe(400);
    expect(badType.json<Problem>().error.fields).toHaveProperty("type");
    const v = await call(w.alice, "POST", "/api/s3/validate", {
      name: "x",
      bucket: "ok-bucket",
      accessKeyId: "K",
      endpoint: "nope",
    });
    expect(v.status).toBe(400);
    expect(Object.keys(v.json<Problem>().error.fields ?? {})).toEqual(["endpoint"]);
    const ok = await call(w.alice, "POST", "/api/s3/validate", {
      name: "x",
      bucket: "ok-bucket",
      accessKeyId: "K",
    });
    expect(ok.json()).toEqual({ ok: true });
  });
});

describe("S3 helpers", () => {
  const conn = () => ({
    endpoint: s3.endpoint,
    region: s3.region,
    accessKeyId: "S3RVER",
    secretAccessKey: SECRET_KEY,
  });

  it("test-connection lists, writes, reads back and deletes a probe object", async () => {
    const r = await call(w.alice, "POST", "/api/s3/test-connection", {
      ...conn(),
      bucket: s3.bucket,
      prefix: "probe",
    });
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ ok: true, steps: ["list", "write", "read", "delete"] });
  });

  it("names the failing step and the store's code: unknown key id, unknown bucket", async () => {
    const badKey = await call(w.alice, "POST", "/api/s3/test-connection", {
      ...conn(),
      accessKeyId: "NOSUCHKEY",
      bucket: s3.bucket,
    });
    expect(badKey.json()).toMatchObject({ ok: false, step: "list", code: "InvalidAccessKeyId", steps: [] });
    const noBucket = await call(w.alice, "POST", "/api/s3/test-connection", {
      ...conn(),
      bucket: uniqueBucketName("none"),
    });
    expect(noBucket.json()).toMatchObject({ ok: false, step: "list", code: "NoSuchBucket" });
    expect(noBucket.json<{ message: string }>().message).toMatch(/does not exist/);
    const noSecret = await call(w.alice, "POST", "/api/s3/test-connection", {
      ...conn(),
      secretAccessKey: "",
      bucket: s3.bucket,
    });
    expect(noSecret.status).toBe(400);
    expect(noSecret.json<Problem>().error.fields).toHaveProperty("secretAccessKey");
  });

  it("lists buckets by body credentials or by a stored destination's", async () => {
    const r = await call(w.alice, "POST", "/api/s3/buckets", conn());
    expect(r.status).toBe(200);
    expect(r.json<{ buckets: { name: string }[] }>().buckets.map((b) => b.name)).toContain(s3.bucket);
    const mine = (await call(w.alice, "GET", "/api/destinations")).json<{ items: DestinationJson[] }>().items;
    const stored = mine.find((d) => d.type === "s3") as DestinationJson;
    const byId = await call(w.alice, "GET", `/api/s3/buckets?destinationId=${stored.id}`);
    expect(byId.json<{ buckets: { name: string }[] }>().buckets.map((b) => b.name)).toContain(s3.bucket);
    const denied = await call(w.alice, "POST", "/api/s3/buckets", { ...conn(), accessKeyId: "NOSUCHKEY" });
    expect(denied.status).toBe(502);
    expect(denied.json<{ error: { code: string } }>().error.code).toBe("InvalidAccessKeyId");
  });
});

describe("secrets", () => {
  it("never appear in an API answer, the audit log or a log line", async () => {
    const secrets = [SECRET_KEY, GIVEN_PASS, ATTACH_PASS, ...generated];
    const audit = (await call(w.admin, "GET", "/api/audit?limit=200")).text;
    expect(audit).toContain("destination.create");
    const apiTexts = answers.map((a) => a.text);
    // The generated passphrases appear exactly once each: in their create answer.
    for (const g of generated) expect(apiTexts.filter((t) => t.includes(g))).toHaveLength(1);
    const rest = apiTexts.filter((t) => !generated.some((g) => t.includes(g)));
    const logs = JSON.stringify(w.t.logs);
    for (const s of secrets) {
      for (const text of [...rest, audit, logs]) expect(text).not.toContain(s);
    }
  });
});

describe("a replaced server key", () => {
  it("makes an edit ask for the secrets again, stored once they open the repository", async () => {
    const items = (await w.alice.get("/api/destinations")).json<{ items: DestinationJson[] }>().items;
    const d = items.find((x) => x.type === "s3" && x.prefix === "alice/laptop") as DestinationJson;
    writeFileSync(join(w.t.services.dataDir, "secret.key"), `${randomBytes(32).toString("base64")}\n`);
    const { secretAccessKey: _s, ...noSecret } = s3Body({ name: d.name });
    const r = await w.alice.api("PUT", `/api/destinations/${d.id}`, noSecret);
    expect(r.status).toBe(400);
    expect(r.json<Problem>().error.fields?.secretAccessKey).toMatch(/cannot be read/);
    const probe = await w.alice.api("GET", `/api/s3/buckets?destinationId=${d.id}`);
    expect(probe.status).toBe(400);
    const noPass = await w.alice.api("PUT", `/api/destinations/${d.id}`, s3Body({ name: d.name }));
    expect(noPass.json<Problem>().error.fields?.password).toMatch(/cannot be read/);
    const ok = await w.alice.api("PUT", `/api/destinations/${d.id}`, {
      ...s3Body({ name: d.name }),
      password: generated[0],
    });
    expect(ok.status).toBe(200);
    expect((await w.alice.get(`/api/s3/buckets?destinationId=${d.id}`)).status).toBe(200);
  });
});
