import { describe, expect, it } from "vitest";
import { readSmtpConfig, resolveServerConfig } from "../../src/config/index.ts";

describe("auth settings from the environment", () => {
  it("no SMTP without SMTP_HOST; defaults to port 587 with STARTTLS", () => {
    expect(readSmtpConfig({})).toBeUndefined();
    expect(readSmtpConfig({ SMTP_HOST: "mail.example.com" })).toEqual({
      host: "mail.example.com",
      port: 587,
      security: "starttls",
      from: "backapp@mail.example.com",
    });
  });

  it("implicit TLS on 465, explicit choices, credentials kept secret", () => {
    const c = readSmtpConfig({
      SMTP_HOST: "m",
      SMTP_PORT: "465",
      SMTP_USER: "me@example.com",
      SMTP_PASS: "pw-value",
    })!;
    expect(c).toMatchObject({ port: 465, security: "tls", user: "me@example.com", from: "me@example.com" });
    expect(c.pass?.reveal()).toBe("pw-value");
    expect(JSON.stringify(c)).not.toContain("pw-value");
    expect(readSmtpConfig({ SMTP_HOST: "m", SMTP_SECURE: "none", SMTP_FROM: "x@y.z" })).toMatchObject({
      security: "none",
      from: "x@y.z",
    });
    expect(() => readSmtpConfig({ SMTP_HOST: "m", SMTP_PORT: "70000" })).toThrow(/SMTP_PORT/);
    expect(() => readSmtpConfig({ SMTP_HOST: "m", SMTP_SECURE: "ssl" })).toThrow(/SMTP_SECURE/);
  });

  it("trusted proxies and the public URL", () => {
    const c = resolveServerConfig(
      {},
      {
        BACKAPP_TRUSTED_PROXIES: " 10.0.0.1, ::1 ,",
        BACKAPP_PUBLIC_URL: "https://b.example.com/app/",
        SMTP_HOST: "m",
      },
    );
    expect(c.trustedProxies).toEqual(["10.0.0.1", "::1"]);
    expect(c.publicUrl).toBe("https://b.example.com/app");
    expect(c.smtp?.host).toBe("m");
    const plain = resolveServerConfig({}, {});
    expect(plain.trustedProxies).toEqual([]);
    expect(plain.publicUrl).toBeUndefined();
    expect(plain.smtp).toBeUndefined();
    expect(() => resolveServerConfig({}, { BACKAPP_PUBLIC_URL: "not a url" })).toThrow(/BACKAPP_PUBLIC_URL/);
    expect(() => resolveServerConfig({}, { BACKAPP_PUBLIC_URL: "ftp://x" })).toThrow(/http or https/);
  });
});
