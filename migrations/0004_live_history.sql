CREATE INDEX `backup_logs_user_time_id_idx` ON `backup_logs` (`user_id`,`start_time`,`id`);--> statement-breakpoint
CREATE INDEX `backup_logs_user_status_time_idx` ON `backup_logs` (`user_id`,`status`,`start_time`,`id`);--> statement-breakpoint
CREATE INDEX `backup_logs_config_status_time_idx` ON `backup_logs` (`config_id`,`status`,`start_time`,`id`);