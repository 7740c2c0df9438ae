/** Pages for signing in and out, first-run setup and registration. */
import { Hono } from "hono";
import { isRegistrationOpen, login, register } from "../../auth/accounts.ts";
import { loginSchema, registerSchema } from "../../auth/schemas.ts";
import { deleteSession } from "../../db/sessions.ts";
import type { AppEnv } from "../context.ts";
import { actionContext, echo, formFailure, parseWith, readForm, renderPage } from "../forms.ts";
import { clearSessionCookie, signIn } from "../middleware/auth.ts";
import { hasAccounts, safeNext } from "../middleware/guards.ts";

export function authPageRoutes() {
  const app = new Hono<AppEnv>();

  app.get("/setup", (c) => {
    if (hasAccounts(c)) return c.redirect("/login", 303);
    return renderPage(c, "setup", { title: "Set up backapp" });
  });

  app.post("/setup", async (c) => {
    if (hasAccounts(c)) return c.redirect("/login", 303);
    const form = await readForm(c);
    try {
      const input = parseWith(registerSchema, { ...form, invite: undefined });
      const user = await register(authDeps(c), input, actionContext(c));
      signIn(c, user.id);
      return c.redirect("/?notice=welcome", 303);
    } catch (error) {
      const { status, errors } = formFailure(c, error);
      return renderPage(
        c,
        "setup",
        { title: "Set up backapp", errors, values: echo(form, "name", "email") },
        status,
      );
    }
  });

  app.get("/login", (c) => {
    if (!hasAccounts(c)) return c.redirect("/setup", 303);
    const next = safeNext(c.req.query("next"));
    if (c.get("user")) return c.redirect(next, 303);
    return renderLogin(c, next);
  });

  app.post("/login", async (c) => {
    const form = await readForm(c);
    const next = safeNext(form.next);
    try {
      const input = parseWith(loginSchema, form);
      const user = await login(authDeps(c), input, actionContext(c));
      signIn(c, user.id);
      return c.redirect(next, 303);
    } catch (error) {
      const { status, errors } = formFailure(c, error);
      return renderLogin(c, next, { errors, values: echo(form, "email") }, status);
    }
  });

  app.post("/logout", (c) => {
    const session = c.get("session");
    if (session) deleteSession(c.get("services").db, session.id);
    clearSessionCookie(c);
    return c.redirect("/login?notice=signed-out", 303);
  });

  app.get("/register", (c) => {
    if (!hasAccounts(c)) return c.redirect("/setup", 303);
    const invite = c.req.query("invite");
    if (!invite && !isRegistrationOpen(c.get("services").db)) return registrationClosed(c);
    return renderPage(c, "register", { title: "Create an account", invite });
  });

  app.post("/register", async (c) => {
    if (!hasAccounts(c)) return c.redirect("/setup", 303);
    const form = await readForm(c);
    try {
      const input = parseWith(registerSchema, {
        ...form,
        setupToken: undefined,
        invite: form.invite || undefined,
      });
      const user = await register(authDeps(c), input, actionContext(c));
      signIn(c, user.id);
      return c.redirect("/?notice=welcome", 303);
    } catch (error) {
      const { status, errors } = formFailure(c, error);
      const data = {
        title: "Create an account",
        errors,
        invite: form.invite,
        values: echo(form, "name", "email"),
      };
      return renderPage(c, "register", data, status);
    }
  });

  return app;
}

function renderLogin(
  c: Parameters<typeof renderPage>[0],
  next: string,
  data: Record<string, unknown> = {},
  status: Parameters<typeof renderPage>[3] = 200,
) {
  const registrationOpen = isRegistrationOpen(c.get("services").db);
  return renderPage(c, "login", { title: "Sign in", next, registrationOpen, ...data }, status);
}

function registrationClosed(c: Parameters<typeof renderPage>[0]) {
  return renderPage(
    c,
    "message",
    {
      title: "Registration closed",
      heading: "Registration is closed",
      message: "Ask an administrator for an invite link.",
      link: { href: "/login", label: "Sign in" },
    },
    403,
  );
}

export function authDeps(c: Parameters<typeof renderPage>[0]) {
  const { db, clock, security } = c.get("services");
  return { db, clock, limiter: security.limiter };
}
