/**
 * SMTP settings an admin enters in the web UI (the SMTP_* environment variables win when set).
 * Stored as one JSON setting; the password is sealed with the server key (src/db/secret-box.ts)
 * and never returned: summaries only say whether one is set.
 */
import { z } from "zod";
import type { SmtpConfig } from "../config/index.ts";
import type { Db } from "../db/client.ts";
import { loadServerKey, seal, unseal } from "../db/secret-box.ts";
import { deleteSetting, getSetting, setSetting } from "../db/settings.ts";
import { createSmtpMailer, type Mailer } from "./email.ts";

const KEY = "notify.smtp";
const PASSWORD_CONTEXT = "smtp.password";

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we refuse
const CONTROL = /[\u0000-\u001f\u007f]/;
const plain = (max: number) =>
  z
    .string({ error: "Enter a value." })
    .trim()
    .max(max, `Use at most ${max} characters.`)
    .refine((v) => !CONTROL.test(v), "Use no control characters.");

/** What the admin form and `PUT /api/settings/smtp` accept. An empty password keeps the stored one. */
export const smtpInputSchema = z.object({
  host: plain(253)
    .min(1, "Enter the mail server's host name.")
    .refine((v) => !/\s/.test(v), "Use a host name without spaces."),
  port: z.coerce
    .number({ error: "Enter a port number." })
    .int("Enter a port number.")
    .min(1, "Use a port from 1 to 65535.")
    .max(65535, "Use a port from 1 to 65535."),
  security: z.enum(["tls", "starttls", "none"], { error: "Choose tls, starttls or none." }),
  user: plain(254).optional(),
  password: z
    .string({ error: "Enter the password as text." })
    .max(1024, "Use at most 1024 characters.")
    .optional(),
  from: plain(254).pipe(z.email("Enter the sender's email address.")),
});
export type SmtpInput = z.output<typeof smtpInputSchema>;

const storedSchema = z.object({
  host: z.string(),
  port: z.number(),
  security: z.enum(["tls", "starttls", "none"]),
  user: z.string().optional(),
  passwordSealed: z.string().optional(),
  from: z.string(),
});
type Stored = z.output<typeof storedSchema>;

/** Safe to show: never the password. */
export interface SmtpSummary {
  host: string;
  port: number;
  security: "tls" | "starttls" | "none";
  user: string | null;
  from: string;
  passwordSet: boolean;
}

function readStored(db: Db): Stored | null {
  const parsed = storedSchema.safeParse(getSetting(db, KEY));
  return parsed.success ? parsed.data : null;
}

export function smtpSummary(db: Db): SmtpSummary | null {
  const s = readStored(db);
  if (!s) return null;
  return {
    host: s.host,
    port: s.port,
    security: s.security,
    user: s.user ?? null,
    from: s.from,
    passwordSet: Boolean(s.passwordSealed),
  };
}

/** Saves settings; a missing or empty password keeps the stored one (for the same user). */
export function saveSmtpSettings(db: Db, dataDir: string, input: SmtpInput, now: number): SmtpSummary {
  const previous = readStored(db);
  const user = input.user || undefined;
  let passwordSealed: string | undefined;
  if (user && input.password) passwordSealed = seal(loadServerKey(dataDir), PASSWORD_CONTEXT, input.password);
  else if (user && previous?.user === user) passwordSealed = previous.passwordSealed;
  const stored: Stored = {
    host: input.host,
    port: input.port,
    security: input.security,
    from: input.from,
    ...(user ? { user } : {}),
    ...(passwordSealed ? { passwordSealed } : {}),
  };
  setSetting(db, KEY, stored, now);
  return smtpSummary(db) as SmtpSummary;
}

export function deleteSmtpSettings(db: Db): void {
  deleteSetting(db, KEY);
}

/** The stored settings as a mailer config, or null when none are stored. Throws SecretBoxError. */
export function storedSmtpConfig(db: Db, dataDir: string): SmtpConfig | null {
  const s = readStored(db);
  if (!s) return null;
  return {
    host: s.host,
    port: s.port,
    security: s.security,
    from: s.from,
    ...(s.user ? { user: s.user } : {}),
    ...(s.passwordSealed ? { pass: unseal(loadServerKey(dataDir), PASSWORD_CONTEXT, s.passwordSealed) } : {}),
  };
}

export interface MailSetup {
  mailer: Mailer;
  source: "env" | "settings";
}

/**
 * Which mailer sends mail: the SMTP_* environment (`envMailer`) wins; else the settings an admin
 * saved; else null. Throws SecretBoxError when stored settings cannot be decrypted.
 */
export function configuredMailer(envMailer: Mailer | undefined, db: Db, dataDir: string): MailSetup | null {
  if (envMailer) return { mailer: envMailer, source: "env" };
  const config = storedSmtpConfig(db, dataDir);
  return config ? { mailer: createSmtpMailer(config), source: "settings" } : null;
}
