-- 3. Transaction and consumption analysis: usage per day over the last 30 days.
SELECT
   DATE(t.dt_transaction) AS transaction_date,
   COUNT(*) AS transaction_count,
   SUM(CAST(t.value AS REAL)) AS total_value,
   AVG(CAST(t.value AS REAL)) AS avg_value,
   COUNT(DISTINCT t.action_code) AS unique_actions
FROM transactions t
WHERE DATE(t.dt_transaction) >= DATE('now', '-30 days')
GROUP BY DATE(t.dt_transaction)
ORDER BY transaction_date DESC;
