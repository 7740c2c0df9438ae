/**
 * The SSRF guard: which addresses count as non-public, and requests through safeRequest against
 * a real loopback listener, refused by default and allowed by the admin setting.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RequestFailedError, safeRequest } from "../../src/notify/safe-http.ts";
import { checkTarget, nonPublicReason, type Resolver, TargetRefusedError } from "../../src/notify/ssrf.ts";
import { tempDir } from "../helpers/temp.ts";
import { receiversPerTest } from "../helpers/webhook-receiver.ts";

const { receiver, track } = receiversPerTest(afterEach);

describe("nonPublicReason", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.8.9.10", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "link-local"],
    ["100.64.0.1", "shared"],
    ["0.0.0.0", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["255.255.255.255", "reserved"],
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["fe80::1", "link-local"],
    ["fe80::1%eth0", "link-local"],
    ["fc00::1", "unique local"],
    ["fd12:3456::1", "unique local"],
    ["ff02::1", "multicast"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["::ffff:169.254.169.254", "link-local"],
    ["::ffff:10.0.0.1", "private"],
    ["::127.0.0.1", "loopback"],
    ["64:ff9b::10.0.0.1", "private"],
    ["2002:7f00:1::", "loopback"],
  ])("%s is %s", (ip, reason) => {
    expect(nonPublicReason(ip)).toContain(reason);
  });

  it.each(["8.8.8.8", "1.1.1.1", "172.32.0.1", "192.169.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])(
    "%s is public",
    (ip) => {
      expect(nonPublicReason(ip)).toBeNull();
    },
  );
});

describe("checkTarget", () => {
  const refused = (url: string, resolve?: Resolver) =>
    expect(checkTarget(url, { allowPrivate: false, ...(resolve ? { resolve } : {}) })).rejects.toThrow(
      TargetRefusedError,
    );

  it("refuses non-public literals, other schemes and credentials", async () => {
    for (const url of [
      "http://127.0.0.1/",
      "http://[::1]:8080/x",
      "http://169.254.169.254/latest/meta-data/",
      "http://10.0.0.5/hook",
      "http://[::ffff:127.0.0.1]/",
      "http://[::ffff:7f00:1]/",
      "http://0.0.0.0/",
      "file:///etc/passwd",
      "ftp://example.com/",
      "http://user:pw@example.com/",
      "not a url",
    ]) {
      await refused(url);
    }
  });

  it("refuses a name resolving to loopback (localhost, through the system resolver)", async () => {
    await expect(checkTarget("http://localhost:9/", { allowPrivate: false })).rejects.toThrow(
      /localhost resolves to/,
    );
  });

  it("refuses a name when any one of its addresses is private", async () => {
    const mixed: Resolver = async () => [
      { address: "93.184.215.14", family: 4 },
      { address: "10.0.0.1", family: 4 },
    ];
    await refused("https://hooks.example/", mixed);
    const pub: Resolver = async () => [{ address: "93.184.215.14", family: 4 }];
    const ok = await checkTarget("https://hooks.example/x", { allowPrivate: false, resolve: pub });
    expect(ok.address.address).toBe("93.184.215.14");
    expect(ok.host).toBe("hooks.example");
  });

  it("allows private targets when the admin setting says so", async () => {
    const ok = await checkTarget("http://[::1]:8080/", { allowPrivate: true });
    expect(ok.address).toEqual({ address: "::1", family: 6 });
  });
});

describe("safeRequest", () => {
  it("reaches a loopback receiver only when private targets are allowed", async () => {
    const r = receiver();
    await expect(
      safeRequest({ url: `${r.url}/hook`, method: "POST", body: "x", allowPrivate: false }),
    ).rejects.toThrow(TargetRefusedError);
    expect(r.requests).toHaveLength(0);
    const res = await safeRequest({
      url: `${r.url}/hook?a=1`,
      method: "POST",
      body: "hello",
      allowPrivate: true,
    });
    expect(res).toEqual({ status: 200, body: "ok", truncated: false });
    expect(r.requests[0]).toMatchObject({ method: "POST", path: "/hook?a=1", body: "hello" });
  });

  it("connects to the checked address, not to a second DNS answer (no rebinding gap)", async () => {
    const r = receiver();
    let calls = 0;
    // A rebinding resolver: first answer checked, any later answer would point elsewhere.
    const rebinding: Resolver = async () => {
      calls++;
      return [{ address: calls === 1 ? "127.0.0.1" : "10.9.9.9", family: 4 }];
    };
    const res = await safeRequest({
      url: `http://rebind.test:${r.port}/`,
      method: "GET",
      allowPrivate: true,
      resolve: rebinding,
    });
    expect(res.status).toBe(200);
    expect(calls).toBe(1);
    expect(r.requests[0]?.headers.host).toBe(`rebind.test:${r.port}`);
  });

  it("speaks TLS to the pinned address with the URL's host as server name, checking the certificate", async () => {
    const tls = tempDir();
    track(tls.cleanup);
    const [cert, key] = [join(tls.path, "cert.pem"), join(tls.path, "key.pem")];
    const made = Bun.spawnSync([
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
      "1",
      "-subj",
      "/CN=hooks.test",
      "-addext",
      "subjectAltName=DNS:hooks.test",
    ]);
    expect(made.success).toBe(true);
    const ca = readFileSync(cert, "utf8");
    const https = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      tls: { cert: ca, key: readFileSync(key, "utf8") },
      fetch: (req) => new Response(`host=${req.headers.get("host")}`),
    });
    track(() => https.stop(true));
    const loopback: Resolver = async () => [{ address: "127.0.0.1", family: 4 }];
    const base = { method: "POST" as const, body: "{}", allowPrivate: true, ca, resolve: loopback };
    const ok = await safeRequest({ ...base, url: `https://hooks.test:${https.port}/x` });
    expect(ok).toMatchObject({ status: 200, body: `host=hooks.test:${https.port}` });
    await expect(safeRequest({ ...base, url: `https://other.test:${https.port}/x` })).rejects.toThrow(
      /other\.test/,
    );
  });

  it("never follows a redirect", async () => {
    const target = receiver();
    const r = receiver({ statuses: [302], headers: { Location: `${target.url}/inside` } });
    const res = await safeRequest({ url: r.url, method: "POST", body: "{}", allowPrivate: true });
    expect(res.status).toBe(302);
    expect(target.requests).toHaveLength(0);
  });

  it("reads at most maxResponseBytes of the answer", async () => {
    const r = receiver({ body: "y".repeat(200_000) });
    const res = await safeRequest({ url: r.url, method: "GET", allowPrivate: true, maxResponseBytes: 1000 });
    expect(res.body).toHaveLength(1000);
    expect(res.truncated).toBe(true);
  });

  it("gives up after the timeout on a receiver that never answers", async () => {
    const slow = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => new Promise<Response>(() => undefined),
    });
    track(() => slow.stop(true));
    await expect(
      safeRequest({
        url: `http://127.0.0.1:${slow.port}/`,
        method: "GET",
        allowPrivate: true,
        timeoutMs: 300,
      }),
    ).rejects.toThrow(RequestFailedError);
  });
});
