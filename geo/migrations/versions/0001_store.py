"""The store: districts, organisations, projects, policies, risk management, claims, accounts.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from alembic import op
from sqlalchemy import text

from geo import programme
from geo.sql import read_sql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = (
    "data_version", "audit_log", "layer_publication", "app_user", "app_role", "claim", "report",
    "risk_event", "inspection", "coverage_section", "reinsurance_share", "policy_share", "policy",
    "project", "organisation", "district", "programme_rule", "coverage_section_kind",
    "exclusion_cause", "claim_status", "report_kind", "risk_event_status", "risk_severity",
    "risk_category", "policy_status", "project_stage", "organisation_kind",
)
FUNCTIONS = (
    "bump_data_version()", "bump_data_version_always()", "check_user_organisation()", "keep_organisation_kind()", "check_policy_share_totals(int)",
    "redate_coverage()", "check_coverage_period()", "check_policy_shares()",
    "check_organisation_kind()", "is_uscc(text)", "is_gb2260(text)",
)

ROLES = {
    "regulator": "住建局（监管）", "insurer": "保险公司", "tis": "风险管理机构",
    "developer": "建设单位", "contractor": "施工单位", "supervisor": "监理单位",
    "planner": "规划/报表", "admin": "系统管理员",
}


def _seed(table: str, rows: list[dict]) -> None:
    columns = list(rows[0])
    names = ", ".join(columns)
    values = ", ".join(f":{c}" for c in columns)
    statement = text(f"INSERT INTO {table} ({names}) VALUES ({values})")  # noqa: S608 - own names
    op.get_bind().execute(statement, rows)


def _labels(mapping: dict) -> list[dict]:
    return [{"code": k, "name_zh": v} for k, v in mapping.items()]


def upgrade() -> None:
    op.execute(read_sql("0001_schema.sql"))
    op.execute(read_sql("0001_operations.sql"))
    _seed("organisation_kind", _labels(programme.ORGANISATION_KINDS))
    _seed("project_stage", [{"code": k, "name_zh": v, "ord": i}
                            for i, (k, v) in enumerate(programme.PROJECT_STAGES.items())])
    _seed("policy_status", _labels(programme.POLICY_STATUSES))
    _seed("risk_category", _labels(programme.RISK_CATEGORIES))
    _seed("risk_severity", [{"code": k, "name_zh": v, "weight": programme.SEVERITY_WEIGHTS[k]}
                            for k, v in programme.RISK_SEVERITIES.items()])
    _seed("risk_event_status", _labels(programme.RISK_EVENT_STATUSES))
    _seed("report_kind", _labels(programme.REPORT_KINDS))
    _seed("claim_status", _labels(programme.CLAIM_STATUSES))
    _seed("exclusion_cause", _labels(programme.EXCLUSIONS))
    _seed("coverage_section_kind", [
        {"code": s.code, "name_zh": s.name_zh, "period_years": s.period_years,
         "is_rider": s.is_rider} for s in programme.COVERAGE_SECTIONS])
    _seed("programme_rule", [
        {"name": name, "value": value, "note": note}
        for name, value, note in programme.RULES_IN_STORE])
    _seed("app_role", _labels(ROLES))


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {function} CASCADE")
