/**
 * Which mailer sends account email: the SMTP_* environment (server config) wins; else the settings
 * an admin saved on /admin/settings; else none (admins then hand out reset links).
 */
import type { Context } from "hono";
import { configuredMailer, type MailSetup } from "../notify/smtp-settings.ts";
import type { AppEnv } from "./context.ts";

/** The mailer, or null when none is configured; throws when stored settings cannot be read. */
export function resolveMail(c: Context<AppEnv>): MailSetup | null {
  const { security, db, dataDir } = c.get("services");
  return configuredMailer(security.mailer, db, dataDir);
}

/** resolveMail for sending account email: unreadable settings are logged and count as none. */
export function currentMail(c: Context<AppEnv>): MailSetup | null {
  try {
    return resolveMail(c);
  } catch (error) {
    const err = { name: (error as Error).name, message: (error as Error).message };
    c.get("services").logger.error({ err }, "stored smtp settings cannot be used");
    return null;
  }
}

export function mailEnabled(c: Context<AppEnv>): boolean {
  return currentMail(c) !== null;
}
