"""Reading the audit log: who did what, when (logins, failed logins, imports, approvals,
exports). Writing is `geo.store.record_audit`; row security lets only admins read."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

PAGE_SIZE = 100
_ACTION = re.compile(r"^[a-z_.]{1,40}$")
ACTIONS_ZH = {
    "login": "登录", "login.failed": "登录失败", "logout": "退出", "import": "导入",
    "user.add": "新增用户", "user.disable": "停用用户", "token.issue": "签发令牌",
    "token.revoke": "吊销令牌", "publication.draft": "公开图层起草",
    "publication.submitted": "公开图层提交", "publication.approved": "公开图层批准",
    "publication.rejected": "公开图层驳回", "publication.withdrawn": "公开图层撤回",
    "audit.view": "查看审计日志", "export": "导出",
}


class AuditQueryError(ValueError):
    """A filter of the audit page that cannot be read; the message names it."""


@dataclass(frozen=True)
class AuditQuery:
    action: str | None = None
    actor: str | None = None
    since: dt.date | None = None
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> AuditQuery:
        """The page's filters from URL arguments.

        >>> AuditQuery.from_args({"action": "login.failed", "page": "2"}).page
        2
        >>> AuditQuery.from_args({"action": "x'; drop"})
        Traceback (most recent call last):
        ...
        geo.audit.AuditQueryError: action="x'; drop": an action such as login.failed
        """
        action = args.get("action") or None
        if action is not None and not _ACTION.match(action):
            raise AuditQueryError(f"action={action!r}: an action such as login.failed")
        actor = (args.get("actor") or "").strip()[:64] or None
        since = None
        if args.get("since"):
            try:
                since = dt.date.fromisoformat(args["since"])
            except ValueError as exc:
                raise AuditQueryError(f"since={args['since']!r}: a date like 2026-01-31") from exc
        page = args.get("page") or "1"
        if not (page.isascii() and page.isdigit() and len(page) <= 5 and 0 < int(page)):
            raise AuditQueryError(f"page={page!r}: a page number")
        return cls(action, actor, since, int(page))

    def as_args(self) -> dict[str, str]:
        out = {"action": self.action, "actor": self.actor, "since": self.since}
        return {k: str(v) for k, v in out.items() if v is not None}


def entries(conn: Connection, query: AuditQuery) -> tuple[list[dict], int]:
    """One page of the log, newest first, and how many entries match in all."""
    where = ("(CAST(:action AS text) IS NULL OR action = :action) "
             "AND (CAST(:actor AS text) IS NULL OR actor = :actor) "
             "AND (CAST(:since AS date) IS NULL OR at >= :since)")
    params = {"action": query.action, "actor": query.actor, "since": query.since}
    total = conn.execute(text(f"SELECT count(*) FROM audit_log WHERE {where}"),  # noqa: S608
                         params).scalar_one()
    rows = conn.execute(text(
        f"SELECT at, actor, action, target, detail FROM audit_log WHERE {where} "  # noqa: S608
        "ORDER BY at DESC, id DESC LIMIT :limit OFFSET :offset"),
        {**params, "limit": PAGE_SIZE, "offset": (query.page - 1) * PAGE_SIZE})
    return [{**row._mapping, "action_zh": ACTIONS_ZH.get(row.action, row.action)}
            for row in rows], total
