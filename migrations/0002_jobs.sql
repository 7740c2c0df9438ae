ALTER TABLE `alerts` ADD `kind` text DEFAULT 'failed_run' NOT NULL;--> statement-breakpoint
ALTER TABLE `alerts` ADD `destination_id` text;--> statement-breakpoint
ALTER TABLE `alerts` ADD `log_id` text;--> statement-breakpoint
ALTER TABLE `alerts` ADD `last_seen_at` integer;--> statement-breakpoint
ALTER TABLE `alerts` ADD `occurrences` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `alerts` ADD `resolved_at` integer;--> statement-breakpoint
CREATE INDEX `alerts_open_idx` ON `alerts` (`kind`,`config_id`,`destination_id`,`resolved_at`);--> statement-breakpoint
ALTER TABLE `backup_configs` ADD `hooks` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `backup_configs` ADD `last_scheduled_at` integer;--> statement-breakpoint
ALTER TABLE `backup_logs` ADD `trigger` text DEFAULT 'manual' NOT NULL;--> statement-breakpoint
ALTER TABLE `backup_logs` ADD `reason` text;--> statement-breakpoint
ALTER TABLE `backup_logs` ADD `destination_id` text;--> statement-breakpoint
ALTER TABLE `backup_logs` ADD `scheduled_for` integer;--> statement-breakpoint
CREATE INDEX `backup_logs_time_idx` ON `backup_logs` (`start_time`,`id`);--> statement-breakpoint
ALTER TABLE `destinations` ADD `repository_id` text;--> statement-breakpoint
ALTER TABLE `destinations` ADD `last_prune_at` integer;