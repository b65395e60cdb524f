-- 4. Opt-out analysis: opt-outs per day, origin and reason over the last 30 days.
SELECT
   CAST(o.request_date AS date) AS optout_date,
   o.origin,
   o.reason_description,
   COUNT(*) AS optout_count,
   COUNT(DISTINCT o.email) AS unique_emails
FROM optout_emails o
WHERE CAST(o.request_date AS date) >= CURRENT_DATE - INTERVAL '30' DAY
GROUP BY CAST(o.request_date AS date), o.origin, o.reason_description
ORDER BY optout_date DESC, optout_count DESC;
