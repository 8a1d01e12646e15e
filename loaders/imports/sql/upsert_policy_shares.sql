-- Co-insurance and reinsurance shares as the file lists them: shares no longer listed go,
-- changed ones are updated, identical ones are left alone (the totals are checked at commit).
CREATE TEMP TABLE wanted_share ON COMMIT DROP AS
SELECT po.id AS policy_id, o.id AS insurer_id, (x ->> 'lead')::boolean AS is_lead,
       (x ->> 'share')::numeric AS share
FROM stage_policy s JOIN policy po ON po.policy_no = s.policy_no
CROSS JOIN LATERAL jsonb_array_elements(s.co_insurers::jsonb) x
JOIN organisation o ON o.name = x ->> 'name' AND o.kind = 'insurer';

CREATE TEMP TABLE wanted_ceded ON COMMIT DROP AS
SELECT po.id AS policy_id, o.id AS reinsurer_id, (x ->> 'share')::numeric AS share
FROM stage_policy s JOIN policy po ON po.policy_no = s.policy_no
CROSS JOIN LATERAL jsonb_array_elements(s.reinsurers::jsonb) x
JOIN organisation o ON o.name = x ->> 'name' AND o.kind = 'reinsurer';

DELETE FROM policy_share ps
WHERE ps.policy_id IN (SELECT policy_id FROM wanted_share)
  AND NOT EXISTS (SELECT 1 FROM wanted_share w
                  WHERE (w.policy_id, w.insurer_id, w.is_lead, w.share)
                      = (ps.policy_id, ps.insurer_id, ps.is_lead, ps.share));

INSERT INTO policy_share (policy_id, insurer_id, is_lead, share)
SELECT * FROM wanted_share
ON CONFLICT (policy_id, insurer_id) DO NOTHING;

DELETE FROM reinsurance_share rs
WHERE rs.policy_id IN (SELECT po.id FROM stage_policy s JOIN policy po ON po.policy_no = s.policy_no)
  AND NOT EXISTS (SELECT 1 FROM wanted_ceded w
                  WHERE (w.policy_id, w.reinsurer_id, w.share)
                      = (rs.policy_id, rs.reinsurer_id, rs.share));

INSERT INTO reinsurance_share (policy_id, reinsurer_id, share)
SELECT * FROM wanted_ceded
ON CONFLICT (policy_id, reinsurer_id) DO NOTHING
