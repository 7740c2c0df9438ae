/**
 * One zod schema per input shape, shared by the JSON API and the HTML forms. Password policy
 * problems are reported on the `password` field.
 */
import { posix } from "node:path";
import { z } from "zod";
import { MAX_PASSWORD_LENGTH, passwordProblem } from "./policy.ts";

/** A string field whose absence or wrong type reads as `missing` (not zod's generic message). */
function text(missing: string) {
  return z.string({ error: missing });
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we refuse
export const CONTROL = /[\u0000-\u001f\u007f]/;

/** One-line display text: trimmed, no control characters (NUL, newlines, escapes). */
function label(missing: string, max: number) {
  return text(missing)
    .trim()
    .min(1, missing)
    .max(max, `Use at most ${max} characters.`)
    .refine((v) => !CONTROL.test(v), "Use no control characters.");
}

export const emailField = text("Enter your email address.")
  .trim()
  .toLowerCase()
  .max(254, "Use at most 254 characters.")
  .pipe(z.email("Enter a valid email address."));

export const nameField = label("Enter a name.", 100);

const TOO_LONG_PASSWORD = `Use at most ${MAX_PASSWORD_LENGTH} characters.`;
/** At most MAX_PASSWORD_LENGTH characters, counted like the policy counts them (code points). */
const notTooLong = (v: string) => [...v].length <= MAX_PASSWORD_LENGTH;
const anyPassword = text("Enter your password.")
  .min(1, "Enter your password.")
  .refine(notTooLong, TOO_LONG_PASSWORD);

/** A new password, checked against the policy (and against the email when the shape has one). */
const newPassword = text("Enter a password.").superRefine((value, ctx) => {
  const problem = passwordProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

function notEmail<T extends { email: string; password: string }>(value: T, ctx: z.RefinementCtx) {
  const problem = passwordProblem(value.password, value.email);
  if (problem && !passwordProblem(value.password)) {
    ctx.addIssue({ code: "custom", message: problem, path: ["password"] });
  }
}

export const registerSchema = z
  .object({
    email: emailField,
    name: nameField,
    password: newPassword,
    setupToken: text("Enter the setup token.").trim().max(200, "The setup token is wrong.").optional(),
    invite: text("The invite link is incomplete.").trim().max(200, "This invite link is invalid.").optional(),
  })
  .superRefine(notEmail);

export const loginSchema = z.object({
  email: text("Enter your email address.")
    .trim()
    .toLowerCase()
    .min(1, "Enter your email address.")
    .max(254, "Use at most 254 characters."),
  password: anyPassword,
});

export const forgotSchema = z.object({ email: emailField });

export const resetSchema = z.object({
  token: text("The reset link is incomplete.")
    .trim()
    .min(1, "The reset link is incomplete.")
    .max(200, "This reset link is invalid."),
  password: newPassword,
});

export const profileSchema = z.object({
  name: nameField,
  email: emailField,
  /** Required only when the email changes (re-authentication). */
  currentPassword: text("Enter your current password.").refine(notTooLong, TOO_LONG_PASSWORD).optional(),
});

export const changePasswordSchema = z.object({
  currentPassword: anyPassword,
  newPassword: newPassword,
});

export const tokenCreateSchema = z.object({ name: label("Name the token.", 100) });

/**
 * An allowed backup root: absolute, no ".." segment, no control characters; normalised ("//a/./b/"
 * becomes "/a/b") so the same root is stored once and prefix checks compare like with like.
 */
export const absolutePath = text("Enter an absolute path.")
  .trim()
  .min(1, "Enter an absolute path.")
  .max(4096, "Use at most 4096 characters.")
  .refine((p) => !CONTROL.test(p), "Use no control characters.")
  .refine((p) => p.startsWith("/") && !p.split("/").includes(".."), "Use absolute paths without '..'.")
  .transform((p) => posix.normalize(p).replace(/(.)\/+$/, "$1"));

/** Allowed roots, normalised and without repeats. */
export const allowedRootsField = z
  .array(absolutePath, { error: "Send a list of absolute paths." })
  .max(100, "Use at most 100 roots.")
  .transform((roots) => [...new Set(roots)]);

export const userUpdateSchema = z.object({
  role: z.enum(["admin", "user"]).optional(),
  disabled: z.boolean().optional(),
  allowedRoots: allowedRootsField.optional(),
  name: nameField.optional(),
});

export const userCreateSchema = z
  .object({
    email: emailField,
    name: nameField,
    password: newPassword,
    role: z.enum(["admin", "user"]).default("user"),
    /** Allowed backup roots from the start (default none). */
    allowedRoots: allowedRootsField.optional(),
  })
  .superRefine(notEmail);

export const inviteCreateSchema = z.object({
  role: z.enum(["admin", "user"]).default("user"),
  /** Hours until the link expires: 1 hour to 30 days. */
  expiresInHours: z.coerce.number().int().min(1).max(720).default(72),
});

export const registrationSettingSchema = z.object({ open: z.boolean() });

/** Field errors as { field: firstMessage } for forms and JSON alike. */
export function fieldErrors(error: {
  issues: readonly { path: readonly PropertyKey[]; message: string }[];
}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = String(issue.path[0] ?? "form");
    out[key] ??= issue.message;
  }
  return out;
}
