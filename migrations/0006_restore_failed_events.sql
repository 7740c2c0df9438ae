-- Channels made before restore_failed existed (issue 10) never chose it. Whoever asked to hear of a
-- failed backup run wants to hear of a failed restore too: add it to those channels' event lists.
UPDATE `notification_channels` SET `events` = json_insert(`events`, '$[#]', 'restore_failed')
WHERE json_valid(`events`) AND json_type(`events`) = 'array'
  AND EXISTS (SELECT 1 FROM json_each(`notification_channels`.`events`) WHERE `value` = 'failed_run')
  AND NOT EXISTS (SELECT 1 FROM json_each(`notification_channels`.`events`) WHERE `value` = 'restore_failed');
