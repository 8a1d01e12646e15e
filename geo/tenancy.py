"""Who a request acts for: the role and organisation that row-level security filters by.

The web service connects as ``riskmap_web`` and, in each transaction, tells PostgreSQL the
tenant with `set_tenant`; the policies of ``0003_row_security.sql`` do the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

# roles that see the whole programme (the city's own staff)
CITY_ROLES = ("regulator", "planner", "admin")
ORGANISATION_ROLES = ("insurer", "tis", "developer", "contractor", "supervisor")
ROLES = (*CITY_ROLES, *ORGANISATION_ROLES)
PUBLIC = "public"
# GB/T 2260's code of the whole country: the jurisdiction of national staff
NATION = "100000"
ROLE_ZH = {
    "regulator": "住建局（监管）", "planner": "规划/报表", "admin": "系统管理员",
    "insurer": "保险公司", "tis": "风险管理机构", "developer": "建设单位",
    "contractor": "施工单位", "supervisor": "监理单位", PUBLIC: "公众",
}


@dataclass(frozen=True)
class Tenant:
    """A signed-in account's role and organisation, or the anonymous public. The city's staff
    act within a jurisdiction (a GB/T 2260 code: district, city, province or NATION); the
    store shows them that part of the programme only.

    >>> Tenant("insurer", 3).sees_all
    False
    >>> Tenant("regulator", jurisdiction="530100").key()
    'regulator:@530100'
    >>> Tenant.public().role
    'public'
    """

    role: str
    organisation_id: int | None = None
    username: str = "anonymous"
    user_id: int | None = None
    # for the city's staff only; code that acts for the platform itself acts for the nation
    jurisdiction: str | None = None

    def __post_init__(self):
        if self.role not in (*ROLES, PUBLIC):
            raise ValueError(f"unknown role {self.role!r}")
        if self.role in ORGANISATION_ROLES and self.organisation_id is None:
            raise ValueError(f"a {self.role} acts for an organisation")
        if self.role in CITY_ROLES and self.jurisdiction is None:
            object.__setattr__(self, "jurisdiction", NATION)
        if self.role not in CITY_ROLES and self.jurisdiction is not None:
            raise ValueError(f"a {self.role} has no jurisdiction")

    @classmethod
    def public(cls) -> Tenant:
        return cls(PUBLIC)

    @property
    def is_public(self) -> bool:
        return self.role == PUBLIC

    @property
    def sees_all(self) -> bool:
        """One of the city's staff: sees the whole programme of its jurisdiction."""
        return self.role in CITY_ROLES

    def key(self) -> str:
        """What distinguishes this tenant's answers from another's (for cache keys)."""
        if self.role in CITY_ROLES:
            return f"{self.role}:@{self.jurisdiction}"
        return f"{self.role}:{self.organisation_id or ''}"


def set_tenant(conn: Connection, tenant: Tenant) -> None:
    """Make the rest of this transaction act for ``tenant`` (settings local to it)."""
    conn.execute(text("SELECT set_config('riskmap.role', :role, true), "
                      "set_config('riskmap.org', :org, true), "
                      "set_config('riskmap.jurisdiction', :area, true)"),
                 {"role": tenant.role, "org": "" if tenant.organisation_id is None
                  else str(tenant.organisation_id), "area": tenant.jurisdiction or ""})
