/**
 * One zod schema per input shape, shared by the JSON API and the HTML forms. Password policy
 * problems are reported on the `password` field.
 */
import { z } from "zod";
import { MAX_PASSWORD_LENGTH, passwordProblem } from "./policy.ts";

export const emailField = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, "Use at most 254 characters.")
  .pipe(z.email("Enter a valid email address."));

export const nameField = z.string().trim().min(1, "Enter a name.").max(100, "Use at most 100 characters.");

const anyPassword = z.string().min(1, "Enter your password.").max(MAX_PASSWORD_LENGTH);

/** A new password, checked against the policy (and against the email when the shape has one). */
const newPassword = z.string().superRefine((value, ctx) => {
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
    setupToken: z.string().trim().max(200).optional(),
    invite: z.string().trim().max(200).optional(),
  })
  .superRefine(notEmail);

export const loginSchema = z.object({
  email: z.string().trim().toLowerCase().min(1, "Enter your email address.").max(254),
  password: anyPassword,
});

export const forgotSchema = z.object({ email: emailField });

export const resetSchema = z.object({
  token: z.string().trim().min(1, "The reset link is incomplete.").max(200),
  password: newPassword,
});

export const profileSchema = z.object({
  name: nameField,
  email: emailField,
  /** Required only when the email changes (re-authentication). */
  currentPassword: z.string().max(MAX_PASSWORD_LENGTH).optional(),
});

export const changePasswordSchema = z.object({
  currentPassword: anyPassword,
  newPassword: newPassword,
});

export const tokenCreateSchema = z.object({
  name: z.string().trim().min(1, "Name the token.").max(100, "Use at most 100 characters."),
});

const absolutePath = z
  .string()
  .trim()
  .min(1)
  .max(4096)
  .refine((p) => p.startsWith("/") && !p.split("/").includes(".."), "Use absolute paths without '..'.");

export const userUpdateSchema = z.object({
  role: z.enum(["admin", "user"]).optional(),
  disabled: z.boolean().optional(),
  allowedRoots: z.array(absolutePath).max(100).optional(),
  name: nameField.optional(),
});

export const userCreateSchema = z
  .object({
    email: emailField,
    name: nameField,
    password: newPassword,
    role: z.enum(["admin", "user"]).default("user"),
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
