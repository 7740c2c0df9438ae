/**
 * The database schema. SQLite is state and cache; the repository is the source of truth for
 * backups. Ids are random text, timestamps integer milliseconds since the epoch, JSON columns
 * are validated by zod at the edges (src/db/json.ts) before they are written or after read.
 * After a change: `npm run db:generate` writes the next migration into migrations/.
 */
import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

const createdAt = () =>
  integer("created_at", { mode: "number" })
    .notNull()
    .default(sql`(cast(unixepoch('subsec') * 1000 as integer))`);
const updatedAt = () =>
  integer("updated_at", { mode: "number" })
    .notNull()
    .default(sql`(cast(unixepoch('subsec') * 1000 as integer))`);

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    email: text("email").notNull(),
    name: text("name").notNull(),
    passwordHash: text("password_hash").notNull(),
    role: text("role", { enum: ["admin", "user"] })
      .notNull()
      .default("user"),
    disabled: integer("disabled", { mode: "boolean" }).notNull().default(false),
    /** JSON array of absolute paths this user may back up and restore (admins: unrestricted). */
    allowedRoots: text("allowed_roots").notNull().default("[]"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("users_email_unique").on(sql`lower(${t.email})`)],
);

export const sessions = sqliteTable(
  "sessions",
  {
    /** Public half of the token; the secret half is stored only as SHA-256. */
    id: text("id").primaryKey(),
    secretHash: text("secret_hash").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    csrfToken: text("csrf_token").notNull(),
    ip: text("ip"),
    userAgent: text("user_agent"),
    createdAt: createdAt(),
    lastSeenAt: integer("last_seen_at", { mode: "number" }).notNull(),
    expiresAt: integer("expires_at", { mode: "number" }).notNull(),
  },
  (t) => [index("sessions_user_idx").on(t.userId), index("sessions_expires_idx").on(t.expiresAt)],
);

export const destinations = sqliteTable(
  "destinations",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    kind: text("kind", { enum: ["s3", "local"] }).notNull(),
    /** JSON: s3 {bucket, prefix, endpoint, region} or local {path}; no secrets. */
    settings: text("settings").notNull(),
    /** Access keys and repository passphrase, encrypted with the server's secret key. */
    secretsEnc: text("secrets_enc"),
    /** The repository's own id (from its config object): runs into one repository are queued. */
    repositoryId: text("repository_id"),
    /** When prune last ran on this repository (ms), for the prune cadence. */
    lastPruneAt: integer("last_prune_at", { mode: "number" }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("destinations_user_idx").on(t.userId)],
);

export const backupConfigs = sqliteTable(
  "backup_configs",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    destinationId: text("destination_id")
      .notNull()
      .references(() => destinations.id, { onDelete: "restrict" }),
    name: text("name").notNull(),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    /** JSON array of {path, excludePatterns?, includePatterns?}. */
    sources: text("sources").notNull(),
    /** JSON {cronExpression, timezone}. */
    schedule: text("schedule").notNull(),
    /** JSON {compression, bandwidthKbps, tags, ...}. */
    options: text("options").notNull(),
    /** JSON {keepLast, keepDaily, keepWeekly, keepMonthly, retentionDays}. */
    retention: text("retention").notNull().default("{}"),
    /** JSON {pre, post}: shell hooks (admins only), each {command, timeoutSeconds, abortOnFailure}. */
    hooks: text("hooks").notNull().default("{}"),
    /** The last scheduled fire time the scheduler handled (ran, queued or recorded as missed), ms. */
    lastScheduledAt: integer("last_scheduled_at", { mode: "number" }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("backup_configs_user_idx").on(t.userId)],
);

export const backupLogs = sqliteTable(
  "backup_logs",
  {
    id: text("id").primaryKey(),
    configId: text("config_id").references(() => backupConfigs.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: ["backup", "restore", "check", "prune", "drill"] })
      .notNull()
      .default("backup"),
    status: text("status", {
      enum: ["queued", "running", "completed", "partial", "failed", "cancelled", "missed"],
    }).notNull(),
    /** What started it: "schedule", "manual" (Run now / API), "catch-up" (missed while down). */
    trigger: text("trigger").notNull().default("manual"),
    /** Why it ended as it did when not completed, e.g. "interrupted", "cancelled by a@b.c". */
    reason: text("reason"),
    destinationId: text("destination_id"),
    /** The scheduled time this run stands for (scheduled and catch-up runs), ms. */
    scheduledFor: integer("scheduled_for", { mode: "number" }),
    startTime: integer("start_time", { mode: "number" }).notNull(),
    endTime: integer("end_time", { mode: "number" }),
    snapshotId: text("snapshot_id"),
    filesProcessed: integer("files_processed").notNull().default(0),
    filesSkipped: integer("files_skipped").notNull().default(0),
    totalBytes: integer("total_bytes").notNull().default(0),
    bytesTransferred: integer("bytes_transferred").notNull().default(0),
    /** JSON array of {path, message}. */
    errors: text("errors").notNull().default("[]"),
    durationMs: integer("duration_ms"),
    /** JSON of what a check or drill found (time to restore, sample, mismatches); null for other kinds. */
    details: text("details"),
    createdAt: createdAt(),
  },
  (t) => [
    index("backup_logs_config_time_idx").on(t.configId, t.startTime),
    index("backup_logs_user_time_idx").on(t.userId, t.startTime),
    index("backup_logs_status_idx").on(t.status),
    index("backup_logs_time_idx").on(t.startTime, t.id),
    // History filters (LIVE): keyset over (start_time, id) within a user, a user's status, a job's status.
    index("backup_logs_user_time_id_idx").on(t.userId, t.startTime, t.id),
    index("backup_logs_user_status_time_idx").on(t.userId, t.status, t.startTime, t.id),
    index("backup_logs_config_status_time_idx").on(t.configId, t.status, t.startTime, t.id),
  ],
);

export const alerts = sqliteTable(
  "alerts",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    configId: text("config_id").references(() => backupConfigs.id, { onDelete: "cascade" }),
    type: text("type", { enum: ["failure", "warning", "info"] }).notNull(),
    /** What problem: failed_run, unreadable_files, missed_schedule, interrupted, no_recent_success, destination_unreachable, check_failed, restore_failed */
    kind: text("kind").notNull().default("failed_run"),
    destinationId: text("destination_id"),
    /** The run that raised (or last repeated) it. */
    logId: text("log_id"),
    message: text("message").notNull(),
    acknowledged: integer("acknowledged", { mode: "boolean" }).notNull().default(false),
    timestamp: integer("timestamp", { mode: "number" }).notNull(),
    /** Last time the same ongoing problem was seen again (one row per problem, not per retry). */
    lastSeenAt: integer("last_seen_at", { mode: "number" }),
    occurrences: integer("occurrences").notNull().default(1),
    /** When the problem went away (e.g. the next run succeeded); null while ongoing. */
    resolvedAt: integer("resolved_at", { mode: "number" }),
  },
  (t) => [
    index("alerts_user_ack_idx").on(t.userId, t.acknowledged, t.timestamp),
    index("alerts_open_idx").on(t.kind, t.configId, t.destinationId, t.resolvedAt),
  ],
);

export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  /** JSON value, validated per key by zod. */
  value: text("value").notNull(),
  updatedAt: updatedAt(),
});

export const apiTokens = sqliteTable(
  "api_tokens",
  {
    /** Public half of the token (`bk_<id>_<secret>`); the secret is stored only as SHA-256. */
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    secretHash: text("secret_hash").notNull(),
    createdAt: createdAt(),
    lastUsedAt: integer("last_used_at", { mode: "number" }),
  },
  (t) => [index("api_tokens_user_idx").on(t.userId)],
);

export const oneTimeTokens = sqliteTable(
  "one_time_tokens",
  {
    /** Public half of the token (`<id>.<secret>`); the secret is stored only as SHA-256. */
    id: text("id").primaryKey(),
    kind: text("kind", { enum: ["password_reset", "invite"] }).notNull(),
    secretHash: text("secret_hash").notNull(),
    /** password_reset: whose password; invite: the admin who created it. */
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** invite only: the role the new account gets. */
    role: text("role", { enum: ["admin", "user"] }),
    expiresAt: integer("expires_at", { mode: "number" }).notNull(),
    usedAt: integer("used_at", { mode: "number" }),
    createdAt: createdAt(),
  },
  (t) => [index("one_time_tokens_user_idx").on(t.userId, t.kind)],
);

export const auditLog = sqliteTable(
  "audit_log",
  {
    id: text("id").primaryKey(),
    at: integer("at", { mode: "number" }).notNull(),
    /** Who acted (null: anonymous or the CLI); kept as text so deleting a user keeps the trail. */
    actorId: text("actor_id"),
    actorEmail: text("actor_email"),
    action: text("action").notNull(),
    /** What was acted on, e.g. "user:<id>" or an email for failed logins. */
    target: text("target"),
    ip: text("ip"),
    /** JSON object with action-specific details; never secrets. */
    details: text("details").notNull().default("{}"),
  },
  (t) => [index("audit_log_at_idx").on(t.at), index("audit_log_actor_idx").on(t.actorId, t.at)],
);

export const notificationChannels = sqliteTable(
  "notification_channels",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    type: text("type", { enum: ["email", "webhook"] }).notNull(),
    name: text("name").notNull(),
    /**
     * email: the address, plain. webhook: the URL sealed with the server key (Slack, Discord and
     * ntfy URLs carry their token in the path), shown only as `targetHint`.
     */
    target: text("target").notNull(),
    /** What pages and the API show: the email address, or a webhook URL's origin ("https://host/…"). */
    targetHint: text("target_hint").notNull(),
    /** webhook: the HMAC signing secret, sealed; null for email. */
    secretEnc: text("secret_enc"),
    format: text("format", { enum: ["generic", "slack", "discord", "ntfy"] })
      .notNull()
      .default("generic"),
    /** JSON array of event names (alert kinds and "run_succeeded") this channel delivers. */
    events: text("events").notNull().default("[]"),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("notification_channels_user_idx").on(t.userId)],
);

export const notificationDeliveries = sqliteTable(
  "notification_deliveries",
  {
    id: text("id").primaryKey(),
    channelId: text("channel_id")
      .notNull()
      .references(() => notificationChannels.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** The notification's id: every try of one delivery shares it (webhook X-Backapp-Delivery). */
    notificationId: text("notification_id").notNull(),
    /** An event name, or "test" for the send-test button. */
    event: text("event").notNull(),
    status: text("status", { enum: ["sent", "retrying", "failed"] }).notNull(),
    attempt: integer("attempt").notNull().default(1),
    /** Why the try failed; never a URL or secret. */
    error: text("error"),
    httpStatus: integer("http_status"),
    at: integer("at", { mode: "number" }).notNull(),
  },
  (t) => [
    index("notification_deliveries_user_at_idx").on(t.userId, t.at),
    index("notification_deliveries_channel_at_idx").on(t.channelId, t.at),
  ],
);
