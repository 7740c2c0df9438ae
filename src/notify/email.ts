/**
 * Outgoing mail through nodemailer's SMTP transport: implicit TLS, STARTTLS or plain, optional
 * AUTH, one recipient, always an HTML part with a plain-text alternative. Credentials never travel
 * over an unencrypted connection unless the admin chose security "none". Errors carry the server's
 * reply, never the password.
 */
import type { ConnectionOptions } from "node:tls";
import nodemailer from "nodemailer";
import type { SmtpConfig } from "../config/index.ts";
import { BackappError } from "../util/errors.ts";

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  /** The HTML part; when absent, one is made from `text` (escaped, links made clickable). */
  html?: string;
  /** A heading above the text in the HTML part made from `text`. */
  heading?: string;
}

/** Sends mail; resolves once the server accepted the message, rejects with SmtpError otherwise. */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

export class SmtpError extends BackappError {}

export interface SmtpOptions {
  /** Connection, greeting and idle socket timeout (default 15 s). */
  timeoutMs?: number;
  /** Extra TLS options (tests: a custom CA). */
  tls?: ConnectionOptions;
  /** Name sent in EHLO. */
  clientName?: string;
}

export function createSmtpMailer(config: SmtpConfig, options: SmtpOptions = {}): Mailer {
  return {
    async send(message) {
      const envelope = checkedMessage(message);
      const transport = nodemailer.createTransport(transportOptions(config, options));
      try {
        await transport.sendMail({
          from: config.from,
          to: envelope.to,
          subject: envelope.subject,
          text: message.text,
          html: message.html ?? htmlFromText(message.text, message.heading),
          // Message fields never name files or URLs to attach: refuse both outright.
          disableFileAccess: true,
          disableUrlAccess: true,
        });
      } catch (error) {
        throw smtpError(config, envelope, error);
      } finally {
        transport.close();
      }
    },
  };
}

function transportOptions(config: SmtpConfig, options: SmtpOptions) {
  const timeout = options.timeoutMs ?? 15_000;
  return {
    host: config.host,
    port: config.port,
    secure: config.security === "tls",
    // "none": never upgrade; "starttls": upgrade when offered, and insist on it before a password.
    ignoreTLS: config.security === "none",
    requireTLS: config.security === "starttls" && Boolean(config.user),
    ...(config.user ? { auth: { user: config.user, pass: config.pass?.reveal() ?? "" } } : {}),
    name: options.clientName ?? "backapp.localhost",
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    socketCloseTimeout: 0,
    ...(options.tls ? { tls: options.tls } : {}),
    logger: false,
    debug: false,
  };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we refuse
const CONTROL = /[\u0000-\u001f\u007f]/;

/** One plain address as recipient and a one-line subject: no header or recipient injection. */
function checkedMessage(message: MailMessage): { to: string; subject: string } {
  const to = message.to.trim();
  if (CONTROL.test(to) || /[,;<>\s]/.test(to) || !/^[^@]+@[^@]+$/.test(to)) {
    throw new SmtpError(`refusing to send mail to ${JSON.stringify(to)}: not one plain address`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: line breaks would start new headers
  return { to, subject: message.subject.replace(/[\u0000-\u001f\u007f]+/g, " ") };
}

interface NodemailerError extends Error {
  code?: string;
  command?: string;
  response?: string;
}

/** "smtp host: RCPT TO:<a@b> answered 550 …" for a refusal; the cause's message otherwise. */
function smtpError(config: SmtpConfig, envelope: { to: string }, error: unknown): SmtpError {
  const e = error as NodemailerError;
  const where = `smtp ${config.host}:${config.port}`;
  if (e.response && e.command) {
    const shown = /^AUTH/i.test(e.command)
      ? `${e.command.split(" ").slice(0, 2).join(" ")} ***`
      : e.command === "RCPT TO"
        ? `RCPT TO:<${envelope.to}>`
        : e.command === "MAIL FROM"
          ? `MAIL FROM:<${config.from}>`
          : e.command;
    return new SmtpError(`${where}: ${shown} answered ${e.response}`);
  }
  return new SmtpError(`${where}: ${e.message ?? String(error)}`);
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] as string,
  );
}

/** A minimal HTML rendering of a plain-text mail: paragraphs, line breaks, clickable links. */
export function htmlFromText(text: string, heading?: string): string {
  const paragraphs = text
    .replace(/\r\n/g, "\n")
    .split(/\n{2,}/)
    .map((p) =>
      escapeHtml(p)
        .replace(/https?:\/\/[^\s<]+/g, (url) => `<a href="${url}">${url}</a>`)
        .replace(/\n/g, "<br>\n"),
    )
    .map((p) => `<p>${p}</p>`);
  return [
    "<!doctype html>",
    '<html><head><meta charset="utf-8"></head>',
    '<body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1a1a1a">',
    ...(heading ? [`<h1 style="font-size: 1.25em">${escapeHtml(heading)}</h1>`] : []),
    ...paragraphs,
    "</body></html>",
  ].join("\n");
}
