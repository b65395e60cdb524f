-- 1. Campaign performance: the sends of the last 30 days, with their send rate.
SELECT
   a.campaign_code,
   a.title AS action_title,
   a.action_type,
   a.status,
   a."contact-list_title",
   CAST(a.total_contacts AS INTEGER) AS total_contacts,
   CAST(a.total_sent AS INTEGER) AS total_sent,
   CASE
      WHEN CAST(a.total_contacts AS INTEGER) > 0
      THEN CAST(a.total_sent AS INTEGER) * 100.0 / CAST(a.total_contacts AS INTEGER)
      ELSE 0
   END AS send_rate,
   a.date_create,
   a.date_start,
   a.date_end
FROM actions a
WHERE a.date_create >= DATE('now', '-30 days')
ORDER BY a.date_create DESC;
