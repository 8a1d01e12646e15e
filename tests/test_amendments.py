"""A policy amendment (变更保单) names the figures it changes; its step keeps each one before and
after, as the policy's history and the audit log show them."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from test_lifecycles import TODAY, cast_of, take

from geo import clock, tasks
from geo.lifecycle import LIFECYCLES


@pytest.fixture(autouse=True)
def on_the_demos_day(monkeypatch):
    monkeypatch.setattr(clock, "real_today", lambda: TODAY)


def test_a_change_records_each_changed_figure_before_and_after(rollback):
    cast = cast_of(rollback)
    before = rollback.execute(text("SELECT premium_yuan, rate, sum_insured_yuan FROM policy "
                                   "WHERE id = :id"), {"id": cast.policy}).one()
    new_premium = float(before.premium_yuan) + 5000
    done = take(rollback, cast, cast.tenant("insurer"), "policy", cast.policy, "change",
                {"note": "增加保费", "premium_yuan": str(new_premium),
                 "rate_pct": str(float(before.rate) * 100)})  # the rate unchanged
    assert done["to"] == "submitted"
    after = rollback.execute(text("SELECT premium_yuan, rate, status FROM policy "
                                  "WHERE id = :id"), {"id": cast.policy}).one()
    assert float(after.premium_yuan) == pytest.approx(new_premium)
    assert after.rate == before.rate and after.status == "submitted"
    history = tasks.record_history(rollback, LIFECYCLES["policy"], cast.policy)
    change = next(s for s in history if s["step"] == "change")
    shown = dict(change["detail_shown"])
    assert shown["保费（元）"] == f"{float(before.premium_yuan):,.2f} → {new_premium:,.2f}"
    assert "费率（%）" not in shown  # unchanged figures are not listed
    audit = rollback.execute(text("SELECT detail FROM audit_log WHERE action = 'policy.change' "
                                  "ORDER BY id DESC LIMIT 1")).scalar_one()
    detail = audit if isinstance(audit, dict) else json.loads(audit)
    assert detail["changes"] == {"保费（元）": [pytest.approx(float(before.premium_yuan)),
                                               pytest.approx(new_premium)]}
