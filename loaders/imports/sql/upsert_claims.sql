-- Claims by claim number: new ones inserted, changed ones updated, identical ones untouched
-- (so a re-import is a no-op); returns how many were inserted and updated. The owner's
-- look-up secret is not in the file and is left as it is.
WITH incoming AS (
  SELECT s.claim_no, po.id AS policy_id, s.unit_no, s.reporter_name, s.reporter_phone,
         s.section, s.cause, s.exclusion, COALESCE(s.is_complex, false) AS is_complex,
         COALESCE(s.is_emergency, false) AS is_emergency, s.status, s.reported_on,
         s.surveyed_on, s.decided_on, s.decision, s.decision_reason, s.refusal_notified_on,
         s.agreed_on, s.settled_on, s.claimed_amount_yuan,
         COALESCE(s.paid_amount_yuan, 0) AS paid_amount_yuan, rep.id AS repairer_id
  FROM stage_claim s
  JOIN policy po ON po.policy_no = s.policy_no
  LEFT JOIN organisation rep ON rep.name = s.repairer
), written AS (
  INSERT INTO claim AS c (claim_no, policy_id, unit_no, reporter_name, reporter_phone,
    section, cause, exclusion, is_complex, is_emergency, status, reported_on, surveyed_on,
    decided_on, decision, decision_reason, refusal_notified_on, agreed_on, settled_on,
    claimed_amount_yuan, paid_amount_yuan, repairer_id)
  SELECT * FROM incoming
  ON CONFLICT (claim_no) DO UPDATE SET
    policy_id = EXCLUDED.policy_id, unit_no = EXCLUDED.unit_no,
    reporter_name = EXCLUDED.reporter_name, reporter_phone = EXCLUDED.reporter_phone,
    section = EXCLUDED.section, cause = EXCLUDED.cause, exclusion = EXCLUDED.exclusion,
    is_complex = EXCLUDED.is_complex, is_emergency = EXCLUDED.is_emergency,
    status = EXCLUDED.status, reported_on = EXCLUDED.reported_on,
    surveyed_on = EXCLUDED.surveyed_on, decided_on = EXCLUDED.decided_on,
    decision = EXCLUDED.decision, decision_reason = EXCLUDED.decision_reason,
    refusal_notified_on = EXCLUDED.refusal_notified_on, agreed_on = EXCLUDED.agreed_on,
    settled_on = EXCLUDED.settled_on, claimed_amount_yuan = EXCLUDED.claimed_amount_yuan,
    paid_amount_yuan = EXCLUDED.paid_amount_yuan, repairer_id = EXCLUDED.repairer_id
  WHERE (c.policy_id, c.unit_no, c.reporter_name, c.reporter_phone, c.section, c.cause,
         c.exclusion, c.is_complex, c.is_emergency, c.status, c.reported_on, c.surveyed_on,
         c.decided_on, c.decision, c.decision_reason, c.refusal_notified_on, c.agreed_on,
         c.settled_on, c.claimed_amount_yuan, c.paid_amount_yuan, c.repairer_id)
    IS DISTINCT FROM
        (EXCLUDED.policy_id, EXCLUDED.unit_no, EXCLUDED.reporter_name, EXCLUDED.reporter_phone,
         EXCLUDED.section, EXCLUDED.cause, EXCLUDED.exclusion, EXCLUDED.is_complex,
         EXCLUDED.is_emergency, EXCLUDED.status, EXCLUDED.reported_on, EXCLUDED.surveyed_on,
         EXCLUDED.decided_on, EXCLUDED.decision, EXCLUDED.decision_reason,
         EXCLUDED.refusal_notified_on, EXCLUDED.agreed_on, EXCLUDED.settled_on,
         EXCLUDED.claimed_amount_yuan, EXCLUDED.paid_amount_yuan, EXCLUDED.repairer_id)
  RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted,
       count(*) FILTER (WHERE NOT inserted) AS updated
FROM written
