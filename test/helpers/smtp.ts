/** A real SMTP server (npm smtp-server) on a random loopback port that keeps what it receives. */
import type { AddressInfo } from "node:net";
import { SMTPServer, type SMTPServerOptions } from "smtp-server";

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  /** The decoded text/plain part (of a multipart message, or the whole body). */
  text: string;
  /** The decoded text/html part, or "" when there is none. */
  html: string;
  secure: boolean;
  user: unknown;
}

function decodePart(head: string, body: string): string {
  if (/content-transfer-encoding:\s*base64/i.test(head)) {
    return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  }
  if (/content-transfer-encoding:\s*quoted-printable/i.test(head)) {
    const bytes = body
      .replace(/=\r?\n/g, "")
      .replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    return Buffer.from(bytes, "latin1").toString("utf8");
  }
  return body;
}

/** The decoded parts of a message by content type (text/plain, text/html), one level of multipart deep or two. */
function parseParts(raw: string, out: Record<string, string> = {}): Record<string, string> {
  const split = raw.indexOf("\r\n\r\n");
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? "" : raw.slice(split + 4);
  const unfolded = head.replace(/\r\n[ \t]+/g, " ");
  const boundary = /content-type:\s*multipart\/[^\r\n]*boundary="?([^";\r\n]+)"?/i.exec(unfolded)?.[1];
  if (boundary) {
    for (const part of body.split(`--${boundary}`).slice(1)) {
      if (part.startsWith("--")) break;
      parseParts(part.replace(/^\r\n/, "").replace(/\r\n$/, ""), out);
    }
    return out;
  }
  const type = /content-type:\s*([^;\r\n]+)/i.exec(unfolded)?.[1]?.trim().toLowerCase() ?? "text/plain";
  out[type] ??= decodePart(unfolded, body);
  return out;
}

export async function startSmtp(options: SMTPServerOptions = {}) {
  const messages: ReceivedMail[] = [];
  const waiters: (() => void)[] = [];
  const server = new SMTPServer({
    authOptional: true,
    logger: false,
    ...options,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const parts = parseParts(raw);
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
        messages.push({
          from,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          text: parts["text/plain"] ?? "",
          html: parts["text/html"] ?? "",
          secure: session.secure,
          user: session.user,
        });
        for (const w of waiters.splice(0)) w();
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    messages,
    /** Resolves once at least `n` messages arrived (rejects after 10 s). */
    async waitFor(n: number): Promise<ReceivedMail[]> {
      const deadline = Date.now() + 10_000;
      while (messages.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} messages, got ${messages.length}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
      return messages;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
