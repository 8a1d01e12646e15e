"""Every section of the statistics, as the statistics page, its JSON and the reports show them:
underwriting, risk and claims (`layers.statistics`), service evaluation (`layers.service`) and
complaints (`layers.complaints`)."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from layers import complaints, service, statistics
from layers.filters import Filters


def all_sections(conn: Connection, city: str, filters: Filters) -> list[dict]:
    return [*statistics.statistics(conn, city, filters),
            service.service_section(conn, city, filters),
            complaints.complaints_section(conn, city, filters)]
