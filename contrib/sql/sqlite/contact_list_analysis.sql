-- 2. Contact list analysis: released lists by size, with validity rate and owner.
SELECT
   cl.code,
   cl.title,
   cl.type,
   cl.status,
   cl.user_code,
   CAST(cl.total_contacts AS INTEGER) AS total_contacts,
   CAST(cl.total_valid AS INTEGER) AS total_valid,
   CASE
      WHEN CAST(cl.total_contacts AS INTEGER) > 0
      THEN CAST(cl.total_valid AS INTEGER) * 100.0 / CAST(cl.total_contacts AS INTEGER)
      ELSE 0
   END AS validity_rate,
   cl.insert_date,
   u.name AS owner_name
FROM contact_lists cl
   LEFT JOIN users u ON cl.user_code = u.code
WHERE cl.status = 'LI'
ORDER BY CAST(cl.total_contacts AS INTEGER) DESC;
