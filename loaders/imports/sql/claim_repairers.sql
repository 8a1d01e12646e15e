-- The organisations a claim file names as repairers, with the kind they are registered as.
SELECT name, kind FROM organisation WHERE name = ANY(:keys)
