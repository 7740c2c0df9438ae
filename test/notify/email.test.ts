import { afterEach, describe, expect, it } from "vitest";
import type { SmtpConfig } from "../../src/config/index.ts";
import { createSmtpMailer, SmtpError } from "../../src/notify/email.ts";
import { Secret } from "../../src/util/secret.ts";
import { startSmtp } from "../helpers/smtp.ts";

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});
async function smtp(options: Parameters<typeof startSmtp>[0] = {}) {
  const s = await startSmtp(options);
  servers.push(s);
  return s;
}
const base = (port: number, extra: Partial<SmtpConfig> = {}): SmtpConfig => ({
  host: "127.0.0.1",
  port,
  security: "none",
  from: "backapp@example.com",
  ...extra,
});
const insecureTls = { tls: { rejectUnauthorized: false } };

describe("SMTP mailer", () => {
  it("delivers a UTF-8 plain-text message over a plain connection", async () => {
    const s = await smtp({ disabledCommands: ["STARTTLS"] });
    await createSmtpMailer(base(s.port)).send({
      to: "ann@example.com",
      subject: "Grüße",
      text: "line one\nline two ✓",
    });
    const [m] = await s.waitFor(1);
    expect(m).toMatchObject({ from: "backapp@example.com", to: ["ann@example.com"], secure: false });
    expect(m!.text).toBe("line one\r\nline two ✓");
    expect(m!.raw).toMatch(/^Subject: =\?UTF-8\?[BQ]\?/im);
    expect(m!.raw).toMatch(/^From: backapp@example.com/m);
  });

  it("upgrades with STARTTLS when offered and authenticates with AUTH PLAIN", async () => {
    const s = await smtp({
      authOptional: false,
      onAuth(auth, _session, cb) {
        if (auth.username === "mailer" && auth.password === "s3cret") cb(null, { user: "mailer" });
        else cb(new Error("bad credentials"));
      },
    });
    const config = base(s.port, { security: "starttls", user: "mailer", pass: new Secret("s3cret") });
    await createSmtpMailer(config, insecureTls).send({ to: "bob@example.com", subject: "Hi", text: "hello" });
    const [m] = await s.waitFor(1);
    expect(m).toMatchObject({ secure: true, user: "mailer", text: "hello" });
  });

  it("speaks TLS from the first byte on an implicit-TLS port", async () => {
    const s = await smtp({ secure: true });
    await createSmtpMailer(base(s.port, { security: "tls" }), insecureTls).send({
      to: "c@example.com",
      subject: "s",
      text: "t",
    });
    expect((await s.waitFor(1))[0]?.secure).toBe(true);
  });

  it("refuses to send credentials in clear when STARTTLS is not offered", async () => {
    const s = await smtp({ disabledCommands: ["STARTTLS"], allowInsecureAuth: true });
    const config = base(s.port, { security: "starttls", user: "u", pass: new Secret("p") });
    await expect(
      createSmtpMailer(config).send({ to: "a@example.com", subject: "s", text: "t" }),
    ).rejects.toThrow(/STARTTLS/);
  });

  it("reports rejected credentials and recipients without echoing the password", async () => {
    const s = await smtp({
      authOptional: false,
      allowInsecureAuth: true,
      disabledCommands: ["STARTTLS"],
      onAuth: (_a, _s, cb) => cb(new Error("nope")),
    });
    const err = await createSmtpMailer(base(s.port, { user: "u", pass: new Secret("hunter2-long") }))
      .send({ to: "a@example.com", subject: "s", text: "t" })
      .catch((e: Error) => e);
    expect(err).toBeInstanceOf(SmtpError);
    expect((err as Error).message).toMatch(/AUTH PLAIN \*\*\* answered 535/);
    expect((err as Error).message).not.toContain(Buffer.from("\0u\0hunter2-long").toString("base64"));

    const r = await smtp({
      disabledCommands: ["STARTTLS"],
      onRcptTo: (_a, _s, cb) => cb(new Error("no such user")),
    });
    await expect(
      createSmtpMailer(base(r.port)).send({ to: "x@example.com", subject: "s", text: "t" }),
    ).rejects.toThrow(/RCPT TO:<x@example.com> answered 550/);
  });

  it("fails cleanly when nothing listens", async () => {
    const s = await smtp();
    const port = s.port;
    await s.close();
    servers.length = 0;
    await expect(
      createSmtpMailer(base(port), { timeoutMs: 2000 }).send({
        to: "a@example.com",
        subject: "s",
        text: "t",
      }),
    ).rejects.toThrow(SmtpError);
  });

  it("sends an HTML part with the plain text, links made clickable and text escaped", async () => {
    const s = await smtp({ disabledCommands: ["STARTTLS"] });
    await createSmtpMailer(base(s.port)).send({
      to: "ann@example.com",
      subject: "Link",
      text: "Open <this>:\nhttps://backapp.example/reset?token=a&b=c\n\nBye",
    });
    const [m] = await s.waitFor(1);
    expect(m!.raw).toMatch(/^Content-Type: multipart\/alternative/m);
    expect(m!.text).toContain("https://backapp.example/reset?token=a&b=c");
    expect(m!.html).toContain('<a href="https://backapp.example/reset?token=a&amp;b=c">');
    expect(m!.html).toContain("Open &lt;this&gt;:");
    expect(m!.html).toContain("<p>Bye</p>");
  });

  it("keeps header and recipient injection out of the message", async () => {
    const s = await smtp({ disabledCommands: ["STARTTLS"] });
    const mailer = createSmtpMailer(base(s.port));
    await expect(
      mailer.send({ to: "b@example.com\r\nBcc: evil@example.com", subject: "x", text: "." }),
    ).rejects.toThrow(SmtpError);
    await expect(
      mailer.send({ to: "b@example.com, evil@example.com", subject: "x", text: "." }),
    ).rejects.toThrow(/not one plain address/);
    await mailer.send({ to: "b@example.com", subject: "x\r\nBcc: evil@example.com", text: "." });
    const [m] = await s.waitFor(1);
    expect(m!.to).toEqual(["b@example.com"]);
    expect(m!.raw).not.toMatch(/^Bcc:/m);
    expect(s.messages).toHaveLength(1);
  });
});
