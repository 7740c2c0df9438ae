/** Pages for a forgotten password: ask for a link, then use it once. */
import type { Context } from "hono";
import { Hono } from "hono";
import { checkResetToken, requestPasswordReset, resetPassword } from "../../auth/recovery.ts";
import { forgotSchema, resetSchema } from "../../auth/schemas.ts";
import type { AppEnv } from "../context.ts";
import { actionContext, echo, formFailure, parseWith, readForm, renderPage } from "../forms.ts";
import { currentMail, mailEnabled } from "../mail.ts";
import { requireAccounts } from "../middleware/guards.ts";
import { authDeps } from "./auth-pages.ts";

export function recoveryPageRoutes() {
  const app = new Hono<AppEnv>();
  for (const path of ["/forgot-password", "/reset-password"]) app.use(path, requireAccounts());

  app.get("/forgot-password", (c) =>
    renderPage(c, "forgot-password", { title: "Reset password", mailEnabled: mailEnabled(c) }),
  );

  app.post("/forgot-password", async (c) => {
    const form = await readForm(c);
    try {
      const { email } = parseWith(forgotSchema, form);
      await sendResetMail(c, email);
      return renderPage(c, "forgot-password", {
        title: "Reset password",
        sent: true,
        mailEnabled: mailEnabled(c),
      });
    } catch (error) {
      const { status, errors } = formFailure(c, error);
      const data = {
        title: "Reset password",
        errors,
        values: echo(form, "email"),
        mailEnabled: mailEnabled(c),
      };
      return renderPage(c, "forgot-password", data, status);
    }
  });

  app.get("/reset-password", (c) => {
    const token = c.req.query("token") ?? "";
    const user = checkResetToken(c.get("services"), token);
    const data = { title: "Choose a new password", valid: Boolean(user), token, email: user?.email };
    return renderPage(c, "reset-password", data, user ? 200 : 400);
  });

  app.post("/reset-password", async (c) => {
    const form = await readForm(c);
    try {
      const input = parseWith(resetSchema, form);
      await resetPassword(authDeps(c), input, actionContext(c));
      return c.redirect("/login?notice=password-reset", 303);
    } catch (error) {
      const { status, errors } = formFailure(c, error);
      const user = checkResetToken(c.get("services"), form.token);
      const data = {
        title: "Choose a new password",
        valid: Boolean(user),
        token: form.token,
        email: user?.email,
        errors,
      };
      return renderPage(c, "reset-password", data, status);
    }
  });

  return app;
}

/** The link users click; built from the configured public URL, never from the Host header. */
export function resetLink(c: Context<AppEnv>, token: string): string {
  return `${c.get("services").security.publicUrl}/reset-password?token=${encodeURIComponent(token)}`;
}

/**
 * Issues a token and mails it when the account exists and SMTP is configured. Sending happens
 * in the background so the answer takes as long for unknown addresses; failures are logged.
 */
export async function sendResetMail(c: Context<AppEnv>, email: string): Promise<void> {
  const { logger } = c.get("services");
  const issued = requestPasswordReset(authDeps(c), email, actionContext(c));
  const mailer = issued ? currentMail(c)?.mailer : undefined;
  if (!issued || !mailer) return;
  const link = resetLink(c, issued.token);
  const text = [
    `Hello ${issued.user.name},`,
    "",
    "someone (hopefully you) asked to reset the password of your backapp account.",
    "Open this link within one hour to choose a new password; it works once:",
    "",
    link,
    "",
    "If you did not ask for this, ignore this email: your password stays as it is.",
  ].join("\n");
  mailer
    .send({ to: issued.user.email, subject: "Reset your backapp password", text })
    .catch((error: Error) => {
      logger.error({ err: { name: error.name, message: error.message } }, "password reset email failed");
    });
}
