/**
 * Notification channels of a user: validation (one zod schema for the page and the API), sealing
 * of webhook URLs and signing secrets at rest, the safe summary pages and the API show (never a
 * URL token or a secret), and the admin's "allow private webhook targets" setting.
 */
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { FieldError } from "../auth/errors.ts";
import type { Db } from "../db/client.ts";
import {
  type ChannelRow,
  deleteUserChannel,
  findUserChannel,
  insertChannel,
  listUserChannels,
  updateUserChannel,
} from "../db/notifications.ts";
import { loadServerKey, seal, unseal } from "../db/secret-box.ts";
import { getSetting, setSetting } from "../db/settings.ts";
import { NotFoundError } from "../util/errors.ts";
import { newId } from "../util/ids.ts";
import type { Secret } from "../util/secret.ts";
import { NOTIFY_EVENTS, type NotifyEventName } from "./notifier.ts";
import { WEBHOOK_FORMATS, type WebhookFormat } from "./webhook.ts";

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we refuse
const CONTROL = /[\u0000-\u001f\u007f]/;

const webhookUrl = z
  .string({ error: "Enter the webhook URL." })
  .trim()
  .max(2048, "Use at most 2048 characters.")
  .refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === "https:" || u.protocol === "http:") && !u.username && !u.password;
    } catch {
      return false;
    }
  }, "Enter an http:// or https:// URL without a user name or password.");

/** What the form and `POST/PUT /api/notifications/channels` accept. */
export const channelInputSchema = z.object({
  type: z.enum(["email", "webhook"], { error: "Choose email or webhook." }),
  name: z
    .string({ error: "Enter a name." })
    .trim()
    .min(1, "Enter a name.")
    .max(100, "Use at most 100 characters.")
    .refine((v) => !CONTROL.test(v), "Use no control characters."),
  /** email: the address; webhook: the URL. Optional on update (absent or empty keeps the stored one). */
  target: z
    .string({ error: "Enter a text value." })
    .trim()
    .max(2048, "Use at most 2048 characters.")
    .optional(),
  format: z.enum(WEBHOOK_FORMATS, { error: "Choose generic, slack, discord or ntfy." }).default("generic"),
  /** webhook only: the HMAC secret; empty on create generates one, empty on update keeps it. */
  secret: z
    .string({ error: "Enter the secret as text." })
    .max(256, "Use at most 256 characters.")
    .refine((v) => v === "" || v.length >= 16, "Use at least 16 characters (or leave empty).")
    .optional(),
  events: z.array(z.enum(NOTIFY_EVENTS, { error: "Choose events from the list." })).default([]),
  enabled: z.boolean({ error: "Enter true or false." }).default(true),
});
export type ChannelInput = z.output<typeof channelInputSchema>;

/** Safe to show: the email address or the webhook URL's origin; never the URL path or secret. */
export interface ChannelSummary {
  id: string;
  type: "email" | "webhook";
  name: string;
  target: string;
  format: WebhookFormat;
  events: NotifyEventName[];
  enabled: boolean;
  secretSet: boolean;
  createdAt: string;
  updatedAt: string;
}

const urlContext = (id: string) => `notify.webhook.url:${id}`;
const secretContext = (id: string) => `notify.webhook.secret:${id}`;

function parseEvents(json: string): NotifyEventName[] {
  const parsed = z.array(z.enum(NOTIFY_EVENTS)).safeParse(JSON.parse(json));
  return parsed.success ? parsed.data : [];
}

export function channelSummary(row: ChannelRow): ChannelSummary {
  return {
    id: row.id,
    type: row.type,
    name: row.name,
    target: row.targetHint,
    format: row.format,
    events: parseEvents(row.events),
    enabled: row.enabled,
    secretSet: Boolean(row.secretEnc),
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}

/** Checks the target for its type; the stored (sealed) target, its hint, or a FieldError. */
function sealedTarget(dataDir: string, id: string, input: ChannelInput, target: string) {
  if (input.type === "email") {
    const email = z.email().safeParse(target);
    if (!email.success || CONTROL.test(target)) throw new FieldError({ target: "Enter an email address." });
    return { target, targetHint: target };
  }
  const url = webhookUrl.safeParse(target);
  if (!url.success) throw new FieldError({ target: url.error.issues[0]?.message ?? "Enter a URL." });
  const origin = new URL(url.data).origin;
  return { target: seal(loadServerKey(dataDir), urlContext(id), url.data), targetHint: `${origin}/…` };
}

export interface CreatedChannel {
  channel: ChannelSummary;
  /** The generated signing secret, returned once (when none was given); never again. */
  generatedSecret: string | null;
}

export function createChannel(db: Db, dataDir: string, userId: string, input: ChannelInput, now: number) {
  if (!input.target) throw new FieldError({ target: "Enter where to send notifications." });
  const id = newId();
  const generated =
    input.type === "webhook" && !input.secret ? `whsec_${randomBytes(24).toString("base64url")}` : null;
  const secret = input.type === "webhook" ? input.secret || generated : null;
  const row = insertChannel(db, {
    id,
    userId,
    type: input.type,
    name: input.name,
    ...sealedTarget(dataDir, id, input, input.target),
    secretEnc: secret ? seal(loadServerKey(dataDir), secretContext(id), secret) : null,
    format: input.type === "webhook" ? input.format : "generic",
    events: JSON.stringify(input.events),
    enabled: input.enabled,
    createdAt: now,
    updatedAt: now,
  });
  return { channel: channelSummary(row), generatedSecret: generated } satisfies CreatedChannel;
}

/** Updates a channel; an empty target or secret keeps the stored one. NotFoundError when not theirs. */
export function updateChannel(db: Db, dataDir: string, userId: string, id: string, input: ChannelInput) {
  const existing = findUserChannel(db, userId, id);
  if (!existing) throw new NotFoundError(`channel ${id}`);
  if (existing.type !== input.type) throw new FieldError({ type: "A channel's type cannot change." });
  const row = updateUserChannel(db, userId, id, {
    name: input.name,
    ...(input.target ? sealedTarget(dataDir, id, input, input.target) : {}),
    ...(input.type === "webhook" && input.secret
      ? { secretEnc: seal(loadServerKey(dataDir), secretContext(id), input.secret) }
      : {}),
    format: input.type === "webhook" ? input.format : "generic",
    events: JSON.stringify(input.events),
    enabled: input.enabled,
  });
  return channelSummary(row as ChannelRow);
}

export function removeChannel(db: Db, userId: string, id: string): void {
  if (!deleteUserChannel(db, userId, id)) throw new NotFoundError(`channel ${id}`);
}

export function listChannels(db: Db, userId: string): ChannelSummary[] {
  return listUserChannels(db, userId).map(channelSummary);
}

/** The one channel of `userId`; NotFoundError for another user's id. */
export function getChannel(db: Db, userId: string, id: string): ChannelRow {
  const row = findUserChannel(db, userId, id);
  if (!row) throw new NotFoundError(`channel ${id}`);
  return row;
}

/** The decrypted webhook URL and secret of a channel. Throws SecretBoxError when the key changed. */
export function webhookSecrets(dataDir: string, row: ChannelRow): { url: Secret; secret: Secret | null } {
  const key = loadServerKey(dataDir);
  return {
    url: unseal(key, urlContext(row.id), row.target),
    secret: row.secretEnc ? unseal(key, secretContext(row.id), row.secretEnc) : null,
  };
}

export function channelEvents(row: ChannelRow): NotifyEventName[] {
  return parseEvents(row.events);
}

const ALLOW_PRIVATE_KEY = "notify.allowPrivateTargets";

/** Admin setting: may webhooks and pings reach loopback/private/link-local addresses? Default no. */
export function allowPrivateTargets(db: Db): boolean {
  return getSetting(db, ALLOW_PRIVATE_KEY) === true;
}

export function setAllowPrivateTargets(db: Db, allow: boolean, now: number): void {
  setSetting(db, ALLOW_PRIVATE_KEY, allow, now);
}
