-- The policies a claim file names that the store holds.
SELECT policy_no FROM policy WHERE policy_no = ANY(:keys)
