"""What a setting's value must be. Each check raises ValueError with the problem in Chinese,
then English; `settings` puts the setting's name and value in front of it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

BASEMAPS = ("auto", "outline", "tianditu", "tianditu_img", "xyz", "none")
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


LOOPBACK_HOSTS = ("localhost", "0.0.0.0", "::1", "[::1]")


def is_loopback(host: str) -> bool:
    """Whether a host name is this machine only (an owner's phone could never reach it).

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("idi.km.gov.cn")
    (True, True, False)
    """
    host = host.strip().lower()
    return host in LOOPBACK_HOSTS or host.startswith("127.") or host.endswith(".localhost")


def public_base_url(value: str) -> None:
    """The address owners reach the platform at: http(s), a real host, no query.

    >>> public_base_url("https://idi.km.gov.cn/riskmap")
    >>> public_base_url("http://127.0.0.1:5000")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: 不能是本机地址（127.0.0.1、localhost）：业主的手机无法访问 — a loopback ...
    """
    if not value:
        return
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ValueError("应为 https://主机名/路径 这样的网址 — use a URL like https://host/path")
    if is_loopback(parts.hostname):
        raise ValueError("不能是本机地址（127.0.0.1、localhost）：业主的手机无法访问 — a loopback "
                         "address cannot be reached by an owner")


def parse_bool(value: str) -> bool:
    """Yes or no, as people write it in an environment file.

    >>> parse_bool("on"), parse_bool("0")
    (True, False)
    """
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("应为是或否（1/0、true/false、yes/no、on/off） — not a yes/no value")


def integer(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ValueError("应为整数 — not an integer") from None


def number(value: str) -> float:
    try:
        return float(value.strip())
    except ValueError:
        raise ValueError("应为数字 — not a number") from None


def port(value: int) -> None:
    if not 1 <= value <= 65535:
        raise ValueError("端口号应在 1–65535 之间 — a port number is 1–65535")


def at_least(low: int) -> Callable[[Any], None]:
    def check(value) -> None:
        if value < low:
            raise ValueError(f"应不小于 {low} — must be at least {low}")
    return check


def share(value: float) -> None:
    if not 0 < value <= 1:
        raise ValueError("应为大于 0、不大于 1 的比例，如 0.85 — a share above 0 and at most 1")


def city_code(value: str) -> None:
    if not re.fullmatch(r"[1-8][0-9]{5}", str(value)):
        raise ValueError("应为六位 GB/T 2260 行政区划代码，如 530100 — a six-digit GB/T 2260 code")


def basemap(value: str) -> None:
    if value not in BASEMAPS:
        raise ValueError(f"应为 {'、'.join(BASEMAPS)} 之一 — one of {', '.join(BASEMAPS)}")


def rate_limit(value: str) -> None:
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise ValueError("不是有效的频率限制，如 5 per minute — not a rate limit such as "
                         "'5 per minute'") from None


def origins(value: str) -> None:
    """Comma-separated web origins, or ``*``.

    >>> origins("https://gis.example.gov.cn, http://10.1.2.3:8080")
    >>> origins("gis.example.gov.cn")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: 来源应写成 https://主机[:端口]... — 'gis.example.gov.cn' is not an origin like ...
    """
    for origin in origin_list(value):
        if origin != "*" and not _ORIGIN.fullmatch(origin):
            raise ValueError("来源应写成 https://主机[:端口]，多个用逗号分隔，或 * — "
                             f"{origin!r} is not an origin like https://host[:port]")


def origin_list(value: str) -> list[str]:
    return [item.strip().rstrip("/") for item in (value or "").split(",") if item.strip()]


def database_url(value: str) -> None:
    """A PostgreSQL URL whose driver we have (plain ``postgresql://`` is mapped to psycopg2)."""
    from geo.store import StoreUrlError, engine_url

    try:
        engine_url(value)
    except StoreUrlError as exc:
        raise ValueError(str(exc)) from None


def url_list(value: str) -> list[str]:
    """Comma-separated URLs, blanks dropped.

    >>> url_list(" postgresql://a/x , postgresql://b/x,")
    ['postgresql://a/x', 'postgresql://b/x']
    """
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def replica_urls(value: str) -> None:
    for url in url_list(value):
        database_url(url)


def report_queue(value: str) -> None:
    if value not in ("threads", "rq"):
        raise ValueError("应为 threads 或 rq — one of threads, rq")
