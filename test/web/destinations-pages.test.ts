/**
 * The /destinations pages through the real app: add an S3 destination (s3rver) and see its
 * generated passphrase once with the required "keep this" confirmation, attach to an existing
 * repository and see its snapshots, edit without secrets in the form, the htmx helpers (field
 * check, test connection naming step and code, bucket list), delete refused while a job uses it,
 * other users' ids 404, /settings/s3 redirect. No secret in any page.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { TestS3 } from "../helpers/s3rver.ts";
import { type Answer, jobBody, type World } from "./configs-fixture.ts";
import { repositoryWithSnapshot, useDestinationWorld } from "./destinations-fixture.ts";

let w: World;
let s3: TestS3;
const pages: Answer[] = [];
const SECRET_KEY = "sk-page-Tr5Yw8Qe1Uo3Ia6S";
const ATTACH_PASS = "attach-page-Zx91Lk44";
let passphrase = "";
let id = "";

function s3Form(extra: Record<string, string> = {}): Record<string, string> {
  return {
    type: "s3",
    name: "Office bucket",
    endpoint: s3.endpoint,
    region: s3.region,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: SECRET_KEY,
    bucket: s3.bucket,
    prefix: "office",
    storageClass: "",
    caCertificate: "",
    path: "",
    password: "",
    ...extra,
  };
}

async function page(
  client: World["alice"],
  method: "GET" | "POST",
  path: string,
  form?: Record<string, string>,
) {
  const r = method === "GET" ? await client.get(path) : await client.form(path, form ?? {});
  pages.push(r);
  return r;
}

const world = useDestinationWorld();
beforeAll(() => {
  ({ w, s3 } = world);
});

describe("destination pages", () => {
  it("list and the new-destination form, reachable from /settings/s3 and the nav", async () => {
    const redirect = await w.alice.get("/settings/s3");
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get("location")).toBe("/destinations");
    const list = await page(w.alice, "GET", "/destinations");
    expect(list.status).toBe(200);
    expect(list.text).toContain('href="/destinations" aria-current="page"');
    const form = await page(w.alice, "GET", "/destinations/new");
    for (const f of [
      "name",
      "endpoint",
      "region",
      "accessKeyId",
      "secretAccessKey",
      "bucket",
      "prefix",
      "path",
      "password",
    ]) {
      expect(form.text).toContain(`<label for="f-${f}">`);
    }
    expect(form.text).toContain("<legend>Type</legend>");
    expect(form.text).toContain('hx-post="/destinations/test-connection"');
  });

  it("adding one shows the generated passphrase once and requires confirming it was kept", async () => {
    const r = await page(w.alice, "POST", "/destinations", s3Form());
    expect(r.status).toBe(200);
    expect(r.text).toContain("without it nobody can restore these backups if this machine is lost");
    passphrase = /id="passphrase">([A-Za-z0-9_-]{43})</.exec(r.text)?.[1] ?? "";
    expect(passphrase).toHaveLength(43);
    id = /action="\/destinations\/([a-z0-9]+)\/confirm"/.exec(r.text)?.[1] ?? "";
    expect(r.text).toMatch(/<input type="checkbox" name="kept" required>/);

    const unconfirmed = await page(w.alice, "POST", `/destinations/${id}/confirm`, {});
    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.text).toContain("Tick the box");
    const done = await w.alice.form(`/destinations/${id}/confirm`, { kept: "on" });
    expect(done.status).toBe(303);
    expect(done.headers.get("location")).toBe("/destinations?notice=destination-created");
    const list = await page(w.alice, "GET", "/destinations?notice=destination-created");
    expect(list.text).toContain("Office bucket");
    expect(list.text).toContain("Destination added.");
  });

  it("a failed submit re-renders the form with field errors and without the secrets", async () => {
    const r = await page(
      w.alice,
      "POST",
      "/destinations",
      s3Form({ name: "", bucket: "NO", password: "typed-pass-1" }),
    );
    expect(r.status).toBe(400);
    expect(r.text).toContain('aria-invalid="true"');
    expect(r.text).toContain("Enter a name.");
    expect(r.text).not.toContain("typed-pass-1");
    const outside = await page(w.alice, "POST", "/destinations", {
      type: "local",
      name: "disk",
      path: "/etc/backapp-x",
    });
    expect(outside.status).toBe(403);
    expect(outside.text).toContain("outside the folders an administrator allowed for you");
  });

  it("attaching to an existing repository lists the snapshots already there", async () => {
    const made = await repositoryWithSnapshot(s3, {
      prefix: "",
      secretAccessKey: SECRET_KEY,
      password: ATTACH_PASS,
      source: w.root,
    });
    const form = s3Form({ name: "Old bucket", bucket: made.bucket, prefix: "", password: ATTACH_PASS });
    const r = await page(w.alice, "POST", "/destinations", form);
    expect(r.status).toBe(200);
    expect(r.text).toContain("Attached to an existing repository");
    expect(r.text).toContain(made.snapshotId.slice(0, 8));
    expect(r.text).toContain("Snapshots already there (1)");
  });

  it("the edit form holds no secret; a wrong new passphrase is refused; empty secrets are kept", async () => {
    const edit = await page(w.alice, "GET", `/destinations/${id}/edit`);
    expect(edit.status).toBe(200);
    expect(edit.text).toContain(`value="${s3.bucket}"`);
    expect(edit.text).toContain("A secret key is stored (encrypted); leave empty to keep it.");
    const wrong = await page(
      w.alice,
      "POST",
      `/destinations/${id}`,
      s3Form({ secretAccessKey: "", password: "not-the-pass" }),
    );
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain("This passphrase does not open the repository there.");
    const saved = await w.alice.form(`/destinations/${id}`, s3Form({ name: "Office", secretAccessKey: "" }));
    expect(saved.status).toBe(303);
    expect((await w.alice.get(`/api/destinations/${id}`)).json()).toMatchObject({ name: "Office" });
  });

  it("htmx helpers: field check, test connection with step and code, bucket list", async () => {
    const check = await page(
      w.alice,
      "POST",
      "/destinations/check?field=bucket",
      s3Form({ bucket: "Bad_Name" }),
    );
    expect(check.text).toMatch(/<small id="e-bucket" class="field-error"[^>]*>Use 3–63 lowercase/);
    const fine = await page(w.alice, "POST", "/destinations/check?field=bucket", s3Form());
    expect(fine.text).toMatch(/<small id="e-bucket" class="field-error" aria-live="polite"><\/small>/);
    const path = await page(w.alice, "POST", "/destinations/check?field=path", {
      type: "local",
      name: "x",
      path: "/srv/other",
    });
    expect(path.text).toContain("outside the folders");

    const bad = await page(
      w.alice,
      "POST",
      "/destinations/test-connection",
      s3Form({ accessKeyId: "NOSUCHKEY" }),
    );
    expect(bad.text).toContain("The list step failed");
    expect(bad.text).toContain("<code>InvalidAccessKeyId</code>");
    // On the edit form the stored secret key is used when the field is left empty.
    const stored = await page(
      w.alice,
      "POST",
      "/destinations/test-connection",
      s3Form({ secretAccessKey: "", destinationId: id }),
    );
    expect(stored.text).toContain("Connection works: list, write, read back, delete all succeeded.");
    const local = await page(w.alice, "POST", "/destinations/test-connection", {
      type: "local",
      path: join(w.root, "t"),
    });
    expect(local.text).toContain("Connection works");

    const buckets = await page(w.alice, "POST", "/destinations/buckets", s3Form());
    expect(buckets.text).toContain(`<option value="${s3.bucket}">`);
  });

  it("delete is refused while a job uses the destination, then forgets it", async () => {
    const job = await w.alice.api(
      "POST",
      "/api/configs",
      jobBody(w, { destinationId: id, name: "Office job" }),
    );
    expect(job.status).toBe(201);
    const refusal = await page(w.alice, "GET", `/destinations/${id}/delete`);
    expect(refusal.text).toContain("cannot be deleted while backup jobs use it");
    expect(refusal.text).toContain("Office job");
    expect(refusal.text).not.toContain(">Delete destination</button>");
    expect((await page(w.alice, "POST", `/destinations/${id}/delete`, {})).status).toBe(409);
    await w.alice.api("DELETE", `/api/configs/${job.json<{ id: string }>().id}`);
    const confirm = await page(w.alice, "GET", `/destinations/${id}/delete`);
    expect(confirm.text).toContain("nothing in the bucket is touched");
    const gone = await w.alice.form(`/destinations/${id}/delete`, {});
    expect(gone.status).toBe(303);
    expect(gone.headers.get("location")).toBe("/destinations?notice=destination-deleted");
  });

  it("another user's destination pages answer 404", async () => {
    const mine = (await w.alice.get("/api/destinations")).json<{ items: { id: string }[] }>().items[0]?.id;
    expect(mine).toBeDefined();
    for (const path of [`/destinations/${mine}/edit`, `/destinations/${mine}/delete`]) {
      expect((await page(w.bob, "GET", path)).status).toBe(404);
    }
    expect((await page(w.bob, "POST", `/destinations/${mine}`, s3Form())).status).toBe(404);
  });

  it("no page carries a secret key or passphrase (except the passphrase step, once)", () => {
    const withPass = pages.filter((p) => p.text.includes(passphrase));
    expect(withPass).toHaveLength(1);
    for (const p of pages) {
      expect(p.text).not.toContain(SECRET_KEY);
      expect(p.text).not.toContain(ATTACH_PASS);
    }
    const logs = JSON.stringify(w.t.logs);
    for (const s of [SECRET_KEY, ATTACH_PASS, passphrase]) expect(logs).not.toContain(s);
  });
});
