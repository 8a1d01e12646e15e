-- The policies a claim file names that the store holds and the uploader reaches: an insurer
-- (:org) files and handles the claims of the policies it leads.
SELECT policy_no FROM policy
WHERE policy_no = ANY(:keys) AND (CAST(:org AS int) IS NULL OR lead_insurer_id = :org)
