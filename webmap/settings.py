"""Every setting of the service: one table, from which the README's table is made.

Order of precedence: these defaults, then environment variables ``RISKMAP_<NAME>``
(and plain ``DATABASE_URL``, which wins over ``RISKMAP_DATABASE_URL``), then the
mapping given to ``create_app(test_config)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_PREFIX = "RISKMAP_"
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _bool(value: str) -> bool:
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a yes/no value: {value!r}")


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str


SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE_URL", None,
            "SQLAlchemy URL of the PostGIS database. Unset: a private cluster is started in "
            "DB_DIR. The plain DATABASE_URL variable wins over RISKMAP_DATABASE_URL."),
    Setting("DB_DIR", str(PROJECT_ROOT / ".riskmap"),
            "Folder of the private PostgreSQL cluster (data, socket, log); git-ignored."),
    Setting("DB_PORT", 54329,
            "Port number of the private cluster. It listens on a Unix socket only, so this "
            "only names the socket and never clashes with a PostgreSQL on 5432.", int),
    Setting("DB_OS_USER", "postgres",
            "Unprivileged system user that runs the private cluster when the service runs as "
            "root (PostgreSQL refuses to run as root)."),
    Setting("DB_UNSAFE_FAST", False,
            "Run the private cluster without fsync: faster tests and demos, unsafe for real "
            "data.", _bool),
    Setting("SECRET_KEY", None,
            "Key that signs CSRF tokens (sessions are kept server-side in Redis): at least 32 "
            "random characters, the same in every process. Unset: "
            "read from SECRET_KEY_FILE, which is made with a random key on first start, so "
            "that every worker process shares it. The service refuses to start with a short "
            "key or a known example key (such as one copied from a compose file)."),
    Setting("SECRET_KEY_FILE", str(PROJECT_ROOT / ".riskmap" / "secret_key"),
            "File holding the secret key when SECRET_KEY is unset; made (mode 600) on first "
            "start, git-ignored. Every process and host of one service must read the same key. "
            "The service refuses to start when it can neither read nor make it."),
    Setting("REDIS_URL", None,
            "Redis that keeps sessions, rate-limit counts and import jobs for every worker "
            "process and host (`redis://host:6379/0`, `rediss://…`, `unix:///path/redis.sock`). "
            "Unset: a private redis-server is started in DB_DIR, on a Unix socket only."),
    Setting("REDIS_OS_USER", "redis",
            "Unprivileged system user that runs the private Redis when the service runs as "
            "root (Debian's redis-server package creates it)."),
    Setting("REDIS_PREFIX", "riskmap",
            "Prefix of this service's keys and job queues in Redis, so that several services "
            "(or a test run) can share one Redis."),
    Setting("SESSION_IDLE_MINUTES", 30,
            "A session unused for this long ends; the user signs in again.", int),
    Setting("SESSION_MAX_HOURS", 12,
            "A session ends this long after signing in, however busy (one working day).", int),
    Setting("CITY", "530100",
            "GB/T 2260 code of the city the service shows by default (530100 is Kunming)."),
    Setting("ASSETS_DIR", str(PROJECT_ROOT / "node_modules"),
            "Folder of the npm packages (Leaflet and plugins) the service serves itself; "
            "filled by `npm ci` at set-up. Nothing is loaded from a CDN."),
    Setting("BASEMAP", "none",
            "Basemap under the layers: `none` (default; works with no network), `tianditu` "
            "(needs TIANDITU_KEY and access to tianditu.gov.cn) or `xyz` (BASEMAP_URL)."),
    Setting("BASEMAP_URL", "",
            "XYZ tile URL template for BASEMAP=xyz, e.g. an internal tile server "
            "`http://tiles.intranet/{z}/{x}/{y}.png`."),
    Setting("BASEMAP_ATTRIBUTION", "", "Attribution shown for BASEMAP=xyz."),
    Setting("TIANDITU_KEY", "", "Key (tk) of the Tianditu (天地图) service for BASEMAP=tianditu."),
    Setting("SESSION_COOKIE_SECURE", False,
            "Mark the session cookie Secure on every answer. It is marked anyway whenever the "
            "request came over HTTPS (directly, or through PROXIES trusted proxies that say "
            "so with X-Forwarded-Proto); turn this on when the service is only reached by "
            "HTTPS.", _bool),
    Setting("LOGIN_RATE_LIMIT", "5 per minute",
            "How often one address may try to sign in (flask-limiter syntax). Counted in Redis, "
            "so the limit holds across every worker process and host."),
    Setting("CLAIM_RATE_LIMIT", "10 per hour",
            "How often one address may file a claim on the public claim page, and how often one "
            "address may try a secret that does not match for one claim number (so a guesser "
            "elsewhere cannot lock the owner out; flask-limiter syntax)."),
    Setting("COMPLAINT_RATE_LIMIT", "10 per hour",
            "How often one address may file a complaint on the public complaint page, and how "
            "often one address may try a secret that does not match for one complaint number "
            "(flask-limiter syntax)."),
    Setting("OWNER_RATE_LIMIT", "30 per hour;100 per day",
            "How often one address may look a building up on the public owner's pages (a "
            "search for a building, a building's page, its 告知书, the claim form): enough for "
            "an owner, far too few to walk the insured book (flask-limiter syntax)."),
    Setting("UPLOAD_MAX_MB", 50,
            "Largest request, in megabytes, the service accepts (Flask's MAX_CONTENT_LENGTH): "
            "an import file uploaded on /imports or to /api/imports above it is refused with "
            "413.", int),
    Setting("UPLOAD_DIR", str(PROJECT_ROOT / ".riskmap" / "uploads"),
            "Folder where uploaded files wait for their import job and are deleted after it; "
            "the web service and every job worker (`riskmap worker`) must see the same folder."),
    Setting("IMPORT_MAX_ROWS", 100_000,
            "Most data rows one import file may hold; a larger file is refused (split it). "
            "Bounds an import job's memory (see the README's figures).", int),
    Setting("IMPORT_UNPACKED_MAX_MB", 500,
            "Most megabytes a zip (a zipped Shapefile, and an XLSX, which is a zip too) may "
            "unpack to, checked member by member before anything is unpacked.", int),
    Setting("IMPORT_MAX_MEMBERS", 200,
            "Most files a zip or XLSX may hold.", int),
    Setting("IMPORT_MAX_RATIO", 200,
            "Most a member of a zip or XLSX may expand (unpacked size ÷ packed size): a zip "
            "bomb is refused before it is unpacked.", int),
    Setting("IMPORT_TIMEOUT_MINUTES", 30,
            "An import job running longer than this is stopped and reported as failed.", int),
    Setting("IMPORT_KEEP_MINUTES", 60,
            "How long an import job's report stays readable after it finished.", int),
    Setting("JOB_WORKERS", 1,
            "Import job workers `riskmap serve` starts beside the web server. 0: start them "
            "yourself with `riskmap worker` (on this host or another that sees UPLOAD_DIR).",
            int),
    Setting("WEB_DATABASE_URL", None,
            "URL the web service connects with. Unset: the store's URL with the user "
            "`riskmap_web` (a role that owns no table and cannot bypass row-level security). "
            "Set it where that role needs a password."),
    Setting("PUBLIC_MIN_PROJECTS", 10,
            "A public district value made from fewer projects than this is hidden (with "
            "further values hidden so that it cannot be worked back from the city total).", int),
    Setting("PUBLIC_DOMINANCE", 0.85,
            "A public money total is hidden where its two largest projects make this share "
            "of it or more.", float),
    Setting("MAP_APPROVAL_NUMBER", "",
            "The map approval number (审图号) printed on the public map, e.g. `云S(2026)001号`."),
    Setting("REPORT_WORKERS", 2,
            "Reports (PDF, XLSX …) made at the same time in the background; more requests wait "
            "their turn, and the web server keeps answering meanwhile.", int),
    Setting("REPORT_KEEP_MINUTES", 60,
            "How long a finished report stays ready to download before it is deleted.", int),
    Setting("REPORT_DIR", str(PROJECT_ROOT / ".riskmap" / "reports"),
            "Folder where reports in the making keep their progress and finished ones wait "
            "for download; every worker process of the service must see the same folder."),
    Setting("RETURN_VISIT_LEAD_DAYS", 60,
            "Days before the 2-year mark after completion acceptance on which the platform "
            "opens a project's return visit for its TIS (when a task list is loaded and on "
            "`riskmap tasks`).", int),
    Setting("HOST", "127.0.0.1", "Address `riskmap serve` listens on."),
    Setting("PORT", 5000, "Port `riskmap serve` listens on.", int),
)
SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}


def defaults() -> dict[str, Any]:
    return {s.name: s.default for s in SETTINGS}


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Settings given as environment variables, parsed to their types.

    >>> from_environment({"RISKMAP_DB_PORT": "6000", "DATABASE_URL": "postgresql://x/y"})
    {'DB_PORT': 6000, 'DATABASE_URL': 'postgresql://x/y'}
    """
    environ = os.environ if environ is None else environ
    found: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(ENV_PREFIX + setting.name)
        if raw is not None:
            try:
                found[setting.name] = setting.parse(raw)
            except ValueError as exc:
                raise ValueError(f"{ENV_PREFIX}{setting.name}: {exc}") from exc
    if environ.get("DATABASE_URL"):
        found["DATABASE_URL"] = environ["DATABASE_URL"]
    return found


def markdown_table() -> str:
    """The README's table of settings."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for s in SETTINGS:
        default = "(unset)" if s.default is None else f"`{s.default}`"
        # paths inside the checkout read the same on every machine
        default = default.replace(str(PROJECT_ROOT), "<project>")
        lines.append(f"| `{ENV_PREFIX}{s.name}` | {default} | {s.help} |")
    return "\n".join(lines)
