/**
 * A minimal SMTP client (RFC 5321) for plain-text mail such as password reset links: implicit TLS
 * or STARTTLS, AUTH PLAIN, one recipient. Credentials are never sent over an unencrypted
 * connection unless the admin chose SMTP_SECURE=none. Errors carry the server's reply line.
 */
import { randomUUID } from "node:crypto";
import { isIP, connect as netConnect, type Socket } from "node:net";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";
import type { SmtpConfig } from "../config/index.ts";
import { BackappError } from "../util/errors.ts";

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/** Sends mail; resolves once the server accepted the message, rejects with SmtpError otherwise. */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

export class SmtpError extends BackappError {}

export interface SmtpOptions {
  timeoutMs?: number;
  /** Extra TLS options (tests: a custom CA). */
  tls?: ConnectionOptions;
  /** Name sent in EHLO. */
  clientName?: string;
}

export function createSmtpMailer(config: SmtpConfig, options: SmtpOptions = {}): Mailer {
  return {
    async send(message) {
      const conn = await SmtpConnection.open(config, options);
      try {
        await deliver(conn, config, options, message);
      } finally {
        conn.close();
      }
    },
  };
}

async function deliver(conn: SmtpConnection, config: SmtpConfig, options: SmtpOptions, message: MailMessage) {
  await conn.expect(null, 220);
  const name = options.clientName ?? "backapp.localhost";
  let caps = await conn.expect(`EHLO ${name}`, 250);
  if (config.security === "starttls" && /^STARTTLS$/im.test(caps)) {
    await conn.expect("STARTTLS", 220);
    await conn.upgrade();
    caps = await conn.expect(`EHLO ${name}`, 250);
  } else if (config.security === "starttls" && config.user) {
    throw new SmtpError(
      `smtp ${config.host}: the server offers no STARTTLS; refusing to send the password in clear`,
    );
  }
  if (config.user) {
    const pass = config.pass?.reveal() ?? "";
    const plain = Buffer.from(`\0${config.user}\0${pass}`).toString("base64");
    await conn.expect(`AUTH PLAIN ${plain}`, 235, "AUTH PLAIN ***");
  }
  await conn.expect(`MAIL FROM:<${clean(config.from)}>`, 250);
  await conn.expect(`RCPT TO:<${clean(message.to)}>`, 250);
  await conn.expect("DATA", 354);
  await conn.expect(`${formatMessage(config.from, message)}\r\n.`, 250, "message body");
  await conn.expect("QUIT", 221).catch(() => undefined);
}

/** SNI only for host names (TLS forbids IP addresses there). */
function serverName(host: string): { servername?: string } {
  return isIP(host) ? {} : { servername: host };
}

function clean(header: string): string {
  return header.replace(/[\r\n<>]/g, "").trim();
}

function encodeHeader(value: string): string {
  const v = value.replace(/[\r\n]+/g, " ");
  return /^[\x20-\x7e]*$/.test(v) ? v : `=?UTF-8?B?${Buffer.from(v).toString("base64")}?=`;
}

/** Headers plus a base64 body (no line-length or dot-stuffing concerns for the content). */
export function formatMessage(from: string, message: MailMessage): string {
  const domain = clean(from).split("@")[1] ?? "backapp.localhost";
  const body = Buffer.from(message.text.replace(/\r?\n/g, "\r\n"))
    .toString("base64")
    .replace(/.{76}/g, "$&\r\n");
  return [
    `From: ${clean(from)}`,
    `To: ${clean(message.to)}`,
    `Subject: ${encodeHeader(message.subject)}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${randomUUID()}@${domain}>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: base64",
    "",
    body,
  ].join("\r\n");
}

/** One SMTP conversation: send a line, wait for the complete (possibly multi-line) reply. */
class SmtpConnection {
  #socket: Socket;
  #buffer = "";
  #lines: string[] = [];
  #waiter: (() => void) | null = null;
  #failure: Error | null = null;

  private constructor(
    socket: Socket,
    private readonly config: SmtpConfig,
    private readonly options: SmtpOptions,
  ) {
    this.#socket = socket;
    this.#attach(socket);
  }

  static open(config: SmtpConfig, options: SmtpOptions): Promise<SmtpConnection> {
    return new Promise((resolve, reject) => {
      const timeout = options.timeoutMs ?? 15_000;
      const onError = (e: Error) => reject(new SmtpError(`smtp ${config.host}:${config.port}: ${e.message}`));
      const socket =
        config.security === "tls"
          ? tlsConnect({ host: config.host, port: config.port, ...serverName(config.host), ...options.tls })
          : netConnect({ host: config.host, port: config.port });
      socket.setTimeout(timeout, () => socket.destroy(new Error(`no answer within ${timeout} ms`)));
      socket.once("error", onError);
      socket.once(config.security === "tls" ? "secureConnect" : "connect", () => {
        socket.off("error", onError);
        resolve(new SmtpConnection(socket, config, options));
      });
    });
  }

  #attach(socket: Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.#buffer += chunk;
      const parts = this.#buffer.split("\r\n");
      this.#buffer = parts.pop() ?? "";
      this.#lines.push(...parts);
      this.#waiter?.();
    });
    const fail = (e?: Error) => {
      this.#failure ??= new SmtpError(`smtp ${this.config.host}: ${e?.message ?? "connection closed"}`);
      this.#waiter?.();
    };
    socket.on("error", fail);
    socket.on("close", () => fail());
  }

  async #reply(): Promise<{ code: number; text: string }> {
    for (;;) {
      const end = this.#lines.findIndex((l) => /^\d{3}(?: |$)/.test(l));
      if (end >= 0) {
        const lines = this.#lines.splice(0, end + 1);
        return { code: Number(lines[end]?.slice(0, 3)), text: lines.map((l) => l.slice(4)).join("\n") };
      }
      if (this.#failure) throw this.#failure;
      await new Promise<void>((r) => {
        this.#waiter = r;
      });
      this.#waiter = null;
    }
  }

  /** Sends `line` (unless null) and checks the reply code; `shown` replaces the line in errors. */
  async expect(line: string | null, code: number, shown = line): Promise<string> {
    if (line !== null) this.#socket.write(`${line}\r\n`);
    const reply = await this.#reply();
    if (reply.code !== code) {
      throw new SmtpError(
        `smtp ${this.config.host}: ${shown ?? "greeting"} answered ${reply.code} ${reply.text}`,
      );
    }
    return reply.text;
  }

  upgrade(): Promise<void> {
    return new Promise((resolve, reject) => {
      const plain = this.#socket;
      plain.removeAllListeners("data");
      const secure = tlsConnect({ socket: plain, ...serverName(this.config.host), ...this.options.tls });
      secure.once("error", (e) => reject(new SmtpError(`smtp ${this.config.host}: STARTTLS: ${e.message}`)));
      secure.once("secureConnect", () => {
        this.#socket = secure;
        this.#attach(secure);
        resolve();
      });
    });
  }

  close() {
    this.#socket.destroy();
  }
}
