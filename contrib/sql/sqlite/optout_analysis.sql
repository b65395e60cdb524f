-- 4. Opt-out analysis: opt-outs per day, origin and reason over the last 30 days.
SELECT
   DATE(o.request_date) AS optout_date,
   o.origin,
   o.reason_description,
   COUNT(*) AS optout_count,
   COUNT(DISTINCT o.email) AS unique_emails
FROM optout_emails o
WHERE DATE(o.request_date) >= DATE('now', '-30 days')
GROUP BY DATE(o.request_date), o.origin, o.reason_description
ORDER BY optout_date DESC, optout_count DESC;
