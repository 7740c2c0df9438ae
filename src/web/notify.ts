/**
 * Notification actions shared by the settings page and the JSON API (one rule each, one audit
 * entry each), and the dispatcher's dependencies built from the app's services.
 */
import type { Context } from "hono";
import { audit } from "../auth/accounts.ts";
import { RateLimitedError } from "../auth/errors.ts";
import { listUserChannels, listUserDeliveries } from "../db/notifications.ts";
import {
  type ChannelInput,
  createChannel,
  listChannels,
  removeChannel,
  updateChannel,
} from "../notify/channels.ts";
import {
  type DeliveryOutcome,
  type DispatchDeps,
  notificationDeps,
  sendTestNotification,
} from "../notify/dispatch.ts";
import { NotFoundError } from "../util/errors.ts";
import type { AppEnv, AppServices } from "./context.ts";
import { actionContext } from "./forms.ts";

type Ctx = Context<AppEnv>;

/** What dispatchNotification() needs, from the server's services (the jobs side builds the same). */
export function dispatchDeps(services: AppServices): DispatchDeps {
  const { db, dataDir, clock, logger, security, version } = services;
  return notificationDeps({
    db,
    dataDir,
    clock,
    logger,
    envMailer: security.mailer,
    publicUrl: () => security.publicUrl,
    version,
  });
}

function me(c: Ctx) {
  const user = c.get("user");
  if (!user) throw new NotFoundError("not signed in");
  return user;
}

export function channelsOf(c: Ctx) {
  return listChannels(c.get("services").db, me(c).id);
}

export function saveNewChannel(c: Ctx, input: ChannelInput) {
  const { db, dataDir, clock } = c.get("services");
  const created = createChannel(db, dataDir, me(c).id, input, clock.now());
  const { id, type, name, target, events } = created.channel;
  audit(c.get("services"), "notify.channel_created", {
    ...actionContext(c),
    target: `channel:${id}`,
    details: { type, name, target, events },
  });
  return created;
}

export function saveChannel(c: Ctx, id: string, input: ChannelInput) {
  const { db, dataDir } = c.get("services");
  const channel = updateChannel(db, dataDir, me(c).id, id, input);
  audit(c.get("services"), "notify.channel_updated", {
    ...actionContext(c),
    target: `channel:${id}`,
    details: { name: channel.name, target: channel.target, events: channel.events, enabled: channel.enabled },
  });
  return channel;
}

export function deleteChannel(c: Ctx, id: string) {
  removeChannel(c.get("services").db, me(c).id, id);
  audit(c.get("services"), "notify.channel_removed", { ...actionContext(c), target: `channel:${id}` });
}

/**
 * One test notification, tried once (a button should answer in seconds, not after retries), and
 * rate-limited per user: the button must not turn the server into a mail or request cannon.
 */
export function testChannel(c: Ctx, id: string): Promise<DeliveryOutcome> {
  const wait = c.get("services").security.limiter.hit(`notify-test:${me(c).id}`);
  if (wait > 0) throw new RateLimitedError(wait);
  const deps = { ...dispatchDeps(c.get("services")), retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 } };
  return sendTestNotification(deps, me(c).id, id);
}

/** The user's latest delivery attempts with their channel's name, newest first. */
export function deliveriesOf(c: Ctx, options: { channelId?: string; limit?: number } = {}) {
  const { db } = c.get("services");
  const userId = me(c).id;
  const names = new Map(listUserChannels(db, userId).map((ch) => [ch.id, ch.name]));
  return listUserDeliveries(db, userId, options).map((d) => ({
    id: d.id,
    channelId: d.channelId,
    channelName: names.get(d.channelId) ?? null,
    notificationId: d.notificationId,
    event: d.event,
    status: d.status,
    attempt: d.attempt,
    httpStatus: d.httpStatus,
    error: d.error,
    at: new Date(d.at).toISOString(),
  }));
}
