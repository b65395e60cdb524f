-- 3. Transaction and consumption analysis: usage per day over the last 30 days.
SELECT
   CAST(t.dt_transaction AS date) AS transaction_date,
   COUNT(*) AS transaction_count,
   SUM(CAST(t.value AS DECIMAL(12,2))) AS total_value,
   AVG(CAST(t.value AS DECIMAL(12,2))) AS avg_value,
   COUNT(DISTINCT t.action_code) AS unique_actions
FROM transactions t
WHERE CAST(t.dt_transaction AS date) >= CURRENT_DATE - INTERVAL '30' DAY
GROUP BY CAST(t.dt_transaction AS date)
ORDER BY transaction_date DESC;
