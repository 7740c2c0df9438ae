/**
 * Smoke test of notifications inside a compiled binary: nodemailer (a password reset mail and an
 * email channel's test, each with HTML and plain-text parts, to a real smtp-server), a signed
 * webhook through the SSRF-guarded pinned-address request (to a Bun listener on loopback, with
 * private targets allowed) and prom-client's /metrics.
 * Usage: bun scripts/smoke-notify-binary.ts dist/backapp-linux-x64
 */
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startSmtp } from "../test/helpers/smtp.ts";
import { startReceiver } from "../test/helpers/webhook-receiver.ts";

function fail(message: string): never {
  console.error(`smoke-notify: FAIL: ${message}`);
  process.exit(1);
}

async function logLines(stream: ReadableStream<Uint8Array>, until: (l: Record<string, unknown>) => boolean) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  const lines: Record<string, unknown>[] = [];
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) fail("the server exited");
    text += decoder.decode(value, { stream: true });
    const parts = text.split("\n");
    text = parts.pop() ?? "";
    for (const p of parts) if (p.startsWith("{")) lines.push(JSON.parse(p));
    if (lines.some(until)) {
      reader.releaseLock();
      return lines;
    }
  }
}

async function main() {
  const binary = resolve(process.argv[2] ?? fail("usage: smoke-notify-binary.ts BINARY"));
  const work = mkdtempSync(join(tmpdir(), "backapp-smoke-notify-"));
  const smtp = await startSmtp({ disabledCommands: ["STARTTLS"] });
  const hook = startReceiver();
  const proc = Bun.spawn([binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", join(work, "data")], {
    env: {
      PATH: "/usr/bin:/bin",
      HOME: work,
      SMTP_HOST: "127.0.0.1",
      SMTP_PORT: String(smtp.port),
      SMTP_SECURE: "none",
      SMTP_FROM: "backapp@example.com",
    },
    stdout: "pipe",
    stderr: "inherit",
  });
  try {
    const lines = await logLines(proc.stdout, (l) => l.msg === "backapp listening");
    const url = lines.find((l) => l.msg === "backapp listening")?.url as string;
    const setupToken = lines.find((l) => typeof l.setupToken === "string")?.setupToken as string;
    let cookie = "";
    let csrf = "";
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { "content-type": "application/json", origin: url, cookie, "x-csrf-token": csrf },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const set = res.headers.getSetCookie()[0];
      if (set) cookie = set.split(";")[0] as string;
      return res;
    };
    const admin = {
      email: "admin@example.com",
      name: "Admin",
      password: "smoke notify passphrase",
      setupToken,
    };
    const reg = await api("POST", "/api/auth/register", admin);
    if (reg.status !== 201) fail(`register: ${reg.status} ${await reg.text()}`);
    csrf = ((await reg.json()) as { csrfToken: string }).csrfToken;

    await api("PUT", "/api/settings/notifications", { allowPrivateTargets: true });
    const created = await api("POST", "/api/notifications/channels", {
      type: "webhook",
      name: "hook",
      target: `${hook.url}/hook`,
      events: ["failed_run"],
    });
    const { channel, secret } = (await created.json()) as { channel: { id: string }; secret: string };
    const test = await api("POST", `/api/notifications/channels/${channel.id}/test`);
    if (test.status !== 200) fail(`webhook test: ${test.status} ${await test.text()}`);
    const req = hook.requests[0];
    const [, t, v1] = /^t=(\d+),v1=(\w+)$/.exec(req?.headers["x-backapp-signature"] ?? "") ?? [];
    if (createHmac("sha256", secret).update(`${t}.${req?.body}`).digest("hex") !== v1)
      fail("bad webhook signature");

    const email = await api("POST", "/api/notifications/channels", {
      type: "email",
      name: "inbox",
      target: "ops@example.com",
      events: ["failed_run"],
    });
    const emailId = ((await email.json()) as { channel: { id: string } }).channel.id;
    if ((await api("POST", `/api/notifications/channels/${emailId}/test`)).status !== 200)
      fail("email test failed");
    await api("POST", "/api/auth/forgot-password", { email: admin.email });
    const mails = await smtp.waitFor(2);
    if (!mails.every((m) => m.text && m.html.includes("<p>"))) fail("a mail lacks its text or HTML part");
    if (!mails.some((m) => /reset-password\?token=/.test(m.text))) fail("no reset link mailed");

    const metrics = await fetch(`${url}/metrics`);
    const body = await metrics.text();
    if (metrics.status !== 200 || !/^backapp_users\{role="admin",disabled="false"\} 1$/m.test(body)) {
      fail(`/metrics: ${metrics.status}\n${body}`);
    }
    console.log("smoke-notify: OK (nodemailer, signed webhook through the SSRF guard, prom-client /metrics)");
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
    hook.stop();
    await smtp.close();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
