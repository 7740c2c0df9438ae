/**
 * Which mailer sends account email: the SMTP_* environment (server config) wins; else the settings
 * an admin saved on /admin/settings; else none (admins then hand out reset links).
 */
import type { Context } from "hono";
import { createSmtpMailer, type Mailer } from "../notify/email.ts";
import { storedSmtpConfig } from "../notify/smtp-settings.ts";
import type { AppEnv } from "./context.ts";

export interface MailSetup {
  mailer: Mailer;
  source: "env" | "settings";
}

export function currentMail(c: Context<AppEnv>): MailSetup | null {
  const { security, db, dataDir, logger } = c.get("services");
  if (security.mailer) return { mailer: security.mailer, source: "env" };
  try {
    const config = storedSmtpConfig(db, dataDir);
    return config ? { mailer: createSmtpMailer(config), source: "settings" } : null;
  } catch (error) {
    logger.error(
      { err: { name: (error as Error).name, message: (error as Error).message } },
      "smtp settings",
    );
    return null;
  }
}

export function mailEnabled(c: Context<AppEnv>): boolean {
  return currentMail(c) !== null;
}
