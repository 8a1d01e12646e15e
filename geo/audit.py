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
    "audit.view": "查看审计日志", "export": "导出", "claim.file": "业主报案",
    "claim.rate": "理赔服务评价", "exposure_limit.set": "设置累积限额",
    "exposure_limit.delete": "删除累积限额", "import.forbidden": "越权上传被拒",
    "password.change": "修改密码", "user.password": "设置密码", "user.reset": "重置密码",
    "demo": "生成演示数据", "user.jurisdiction": "变更辖区",
}
ACTORS_ZH = {"anonymous": "匿名（公众）", "cli": "命令行", "demo": "演示数据", "test": "测试",
             "system": "系统（平台自动）"}
# the keys of an entry's details, as the page names them (values are shown as stored)
DETAIL_ZH = {
    "role": "角色", "name": "名称", "filters": "筛选条件", "step": "步骤", "from": "原状态",
    "to": "新状态", "on": "日期", "seed": "随机种子", "projects": "项目数", "city": "城市",
    "rows": "行数", "kind": "类型", "dry_run": "试导入", "note": "备注", "file": "文件",
    "format": "格式", "reason": "理由", "period": "期间", "radius_m": "半径（米）",
    "limit_wan": "限额（万元）", "basis": "口径", "scope": "范围", "size_m": "大小（米）",
    "address": "来源地址", "via": "途径", "inserted": "新增", "updated": "更新",
    "unchanged": "未变", "rejected": "拒收行数", "errors": "错误数", "result": "结果",
    "claim_no": "报案号", "rule": "承保判定", "score": "评分", "measure": "指标",
    "max_wan": "限额（万元）", "changes": "变更", "partial": "部分导入",
    "jurisdiction": "辖区",
}

# values of a few keys that are the code's own words, as the page names them
VALUE_ZH = {
    "result": {"imported": "已导入", "dry-run": "试导入", "refused": "已拒收"},
    "via": {"web": "网页上传", "api": "接口上传", "cli": "命令行"},
    "kind": {"organisations": "参与单位", "projects": "项目", "policies": "保单",
             "risk-events": "风险事件", "claims": "理赔案件"},
    # an accumulation limit's, in the portfolio page's words (layers/portfolio.py, exposure.py)
    "basis": {"gross": "总保额", "own": "自留额", "net": "净自留额"},
    "measure": {"circle": "任一圆内", "cell": "任一网格内", "district": "单个区县",
                "developer": "单个建设单位", "contractor": "单个施工单位",
                "supervisor": "单个监理单位", "tis": "单个风险管理机构",
                "completion_year": "单个竣工年份"},
}


def action_zh(action: str) -> str:
    """An audit action as the page names it: a step of a business lifecycle by its lifecycle's
    and step's Chinese names.

    >>> action_zh("login.failed"), action_zh("risk_event.request_rectification")
    ('登录失败', '风险事件 · 下发整改通知')
    """
    if action in ACTIONS_ZH:
        return ACTIONS_ZH[action]
    from geo.complaints import COMPLAINT
    from geo.lifecycle import LIFECYCLES

    name, _, step = action.partition(".")
    machine = {**LIFECYCLES, "complaint": COMPLAINT}.get(name)
    if machine is None:
        return action
    label = next((t.label for t in machine.transitions if t.name == step), None)
    return f"{machine.label} · {label}" if label else action


def actor_zh(actor: str) -> str:
    """Who acted, as the page names them; a command run on the server is named with the
    server account that ran it (``cli:<account>``), which is data and kept as it is.

    >>> actor_zh("anonymous"), actor_zh("cli:deploy"), actor_zh("t-admin")
    ('匿名（公众）', '命令行（服务器账户 deploy）', 't-admin')
    """
    if actor in ACTORS_ZH:
        return ACTORS_ZH[actor]
    via, _, account = actor.partition(":")
    if via == "cli" and account:
        return f"命令行（服务器账户 {account}）"
    return actor


def detail_zh(detail) -> list[tuple[str, str]]:
    """An entry's details as (Chinese key, value) pairs.

    >>> detail_zh({"role": "admin", "x": 1, "result": "dry-run", "basis": "net", "size_m": None})
    [('角色', 'admin'), ('x', '1'), ('结果', '试导入'), ('口径', '净自留额'), ('大小（米）', '—')]
    """
    if not isinstance(detail, dict):
        return [("", str(detail))] if detail else []
    labels = {**_step_field_labels(), **DETAIL_ZH}
    return [(labels.get(k, k), _value_zh(k, v)) for k, v in detail.items()]


def _value_zh(key: str, value) -> str:
    if value is None:
        return "—"
    return VALUE_ZH.get(key, {}).get(value, value) if isinstance(value, str) else str(value)


def _step_field_labels() -> dict[str, str]:
    # a lifecycle step's details are its form's fields: named as the form names them
    from geo.complaints import COMPLAINT
    from geo.lifecycle import LIFECYCLES

    return {f.name: f.label for m in (*LIFECYCLES.values(), COMPLAINT)
            for t in m.transitions for f in t.fields}


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
                raise AuditQueryError(f"起始日期有误：应为 2026-01-31 这样的日期。"
                                      f"since={args['since']!r}: a date like 2026-01-31") from exc
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
    return [{**row._mapping, "action_zh": action_zh(row.action),
             # a failed sign-in's actor is whatever was typed: shown as it is
             "actor_zh": row.actor if row.action == "login.failed" else actor_zh(row.actor),
             "detail_zh": detail_zh(row.detail)}
            for row in rows], total
