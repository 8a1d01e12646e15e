"""Every setting of the service: one table, from which the README's table is made.

Order of precedence: these defaults, then environment variables ``RISKMAP_<NAME>``
(and plain ``DATABASE_URL``, which wins over ``RISKMAP_DATABASE_URL``), then the
mapping given to ``create_app(test_config)``. `validate` checks the result: a bad value
is one line naming the setting, never a traceback from deep inside.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from webmap import assets
from webmap.setting_checks import (
    at_least,
    basemap,
    city_code,
    database_url,
    integer,
    number,
    origins,
    parse_bool,
    port,
    public_base_url,
    rate_limit,
    replica_urls,
    report_queue,
    share,
    url_list,
)

ENV_PREFIX = "RISKMAP_"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Run from a checkout (an editable install), the service keeps its files in the checkout;
# installed from a wheel, in the user's data folder, never inside site-packages.
IN_CHECKOUT = (PROJECT_ROOT / "pyproject.toml").is_file()
DATA_HOME = (PROJECT_ROOT / ".riskmap" if IN_CHECKOUT else Path(
    os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "idi-riskmap")


class SettingError(ValueError):
    """A bad setting: its message is one line that names it and says what it needs."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str
    # raises ValueError (its message in Chinese, then English) for a value the service cannot use
    check: Callable[[Any], None] | None = None

    @property
    def variable(self) -> str:
        return ENV_PREFIX + self.name


SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE_URL", None,
            "SQLAlchemy URL of the PostGIS database. Unset: a private cluster is started in "
            "DB_DIR. The plain DATABASE_URL variable wins over RISKMAP_DATABASE_URL. "
            "`postgresql://user:password@host/db` works (the driver is psycopg2).",
            check=database_url),
    Setting("DB_DIR", str(DATA_HOME),
            "Folder of the private PostgreSQL cluster (data, socket, log). `<data>` is "
            "`.riskmap` in a checkout (git-ignored), and `$XDG_DATA_HOME/idi-riskmap` "
            "(`~/.local/share/idi-riskmap`) when installed from a wheel."),
    Setting("DB_PORT", 54329,
            "Port number of the private cluster. It listens on a Unix socket only, so this "
            "only names the socket and never clashes with a PostgreSQL on 5432.", integer, port),
    Setting("DB_OS_USER", "postgres",
            "Unprivileged system user that runs the private cluster when the service runs as "
            "root (PostgreSQL refuses to run as root)."),
    Setting("DB_UNSAFE_FAST", False,
            "Run the private cluster without fsync: faster tests and demos, unsafe for real "
            "data.", parse_bool),
    Setting("SECRET_KEY", None,
            "Key that signs CSRF tokens (sessions are kept server-side in Redis): at least 32 "
            "random characters, the same in every process. Unset: "
            "read from SECRET_KEY_FILE, which is made with a random key on first start, so "
            "that every worker process shares it. The service refuses to start with a short "
            "key or a known example key (such as one copied from a compose file)."),
    Setting("SECRET_KEY_FILE", str(DATA_HOME / "secret_key"),
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
            "A session unused for this long ends; the user signs in again.", integer, at_least(1)),
    Setting("SESSION_MAX_HOURS", 12,
            "A session ends this long after signing in, however busy (one working day).",
            integer, at_least(1)),
    Setting("CITY", "530100",
            "GB/T 2260 code of the city the service shows by default (530100 is Kunming).",
            check=city_code),
    Setting("ASSETS_DIR", str(assets.default_folder(PROJECT_ROOT, IN_CHECKOUT)),
            "Folder of the npm packages (Leaflet, its plugins, ECharts) the service serves "
            "itself: `node_modules` of a checkout (filled by `npm ci`), or the copy a wheel "
            "ships inside the package. Nothing is loaded from a CDN; a folder without them "
            "stops the service at start.", check=assets.check_folder),
    Setting("BASEMAP", "auto",
            "Basemap shown first (every map has a switcher between all configured ones): "
            "`auto` (default: the first configured tile service, else the outline), "
            "`outline` (the offline outline drawn from the store: province, city and district "
            "boundaries with their names; needs no network), `tianditu` (天地图 vector), "
            "`tianditu_img` (天地图 imagery) or `xyz` (BASEMAP_URL). `none` means `outline`.",
            check=basemap),
    Setting("BASEMAP_URL", "",
            "XYZ or WMTS (KVP, with {z}, {x}, {y}) tile URL template(s) of the bureau's internal "
            "tile server(s), several separated by spaces, e.g. "
            "`http://tiles.intranet/{z}/{x}/{y}.png`."),
    Setting("BASEMAP_NAME", "内部底图",
            "Name(s) of the BASEMAP_URL basemaps in the switcher, comma-separated in the same "
            "order."),
    Setting("BASEMAP_ATTRIBUTION", "", "Attribution shown for the BASEMAP_URL basemaps."),
    Setting("BASEMAP_GCJ02", False,
            "The BASEMAP_URL tiles are in GCJ-02 (Amap 高德, Tencent 腾讯). Then the DATA "
            "(districts, points, outline) is shifted from WGS84 to GCJ-02 on the page while "
            "that basemap shows, never the basemap; Tianditu and the outline are CGCS2000 "
            "(≈ WGS84) and need no shift. Off: every basemap is taken as WGS84/CGCS2000.",
            parse_bool),
    Setting("TIANDITU_KEY", "",
            "Key (tk) of the Tianditu (天地图) service: set, the switcher offers Tianditu "
            "vector (vec + cva annotation) and imagery (img + cia annotation)."),
    Setting("TIANDITU_URL",
            "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
            "&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
            "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={tk}",
            "WMTS template of Tianditu's Web Mercator tiles ({layer}: vec, cva, img, cia; {tk}: "
            "TIANDITU_KEY); change it for a provincial Tianditu node or a proxy."),
    Setting("SESSION_COOKIE_SECURE", False,
            "Mark the session cookie Secure on every answer. It is marked anyway whenever the "
            "request came over HTTPS (directly, or through PROXIES trusted proxies that say "
            "so with X-Forwarded-Proto); turn this on when the service is only reached by "
            "HTTPS.", parse_bool),
    Setting("LOGIN_RATE_LIMIT", "5 per minute",
            "How often one address may try to sign in (flask-limiter syntax). Counted in Redis, "
            "so the limit holds across every worker process and host.", check=rate_limit),
    Setting("CLAIM_RATE_LIMIT", "10 per hour",
            "How often one address may file a claim on the public claim page, and how often one "
            "address may try a secret that does not match for one claim number (so a guesser "
            "elsewhere cannot lock the owner out; flask-limiter syntax).", check=rate_limit),
    Setting("COMPLAINT_RATE_LIMIT", "10 per hour",
            "How often one address may file a complaint on the public complaint page, and how "
            "often one address may try a secret that does not match for one complaint number "
            "(flask-limiter syntax).", check=rate_limit),
    Setting("OWNER_RATE_LIMIT", "30 per hour;100 per day",
            "How often one address may look a building up on the public owner's pages (a "
            "search for a building, a building's page, its 告知书, the claim form): enough for "
            "an owner, far too few to walk the insured book (flask-limiter syntax).",
            check=rate_limit),
    Setting("UPLOAD_MAX_MB", 50,
            "Largest request, in megabytes, the service accepts (Flask's MAX_CONTENT_LENGTH): "
            "an import file uploaded on /imports or to /api/imports above it is refused with "
            "413.", integer, at_least(1)),
    Setting("UPLOAD_DIR", str(DATA_HOME / "uploads"),
            "Folder where uploaded files wait for their import job and are deleted after it; "
            "the web service and every job worker (`riskmap worker`) must see the same folder."),
    Setting("IMPORT_MAX_ROWS", 100_000,
            "Most data rows one import file may hold; a larger file is refused (split it). "
            "Bounds an import job's memory (see the README's figures).", integer, at_least(1)),
    Setting("IMPORT_UNPACKED_MAX_MB", 500,
            "Most megabytes a zip (a zipped Shapefile, and an XLSX, which is a zip too) may "
            "unpack to, checked member by member before anything is unpacked.",
            integer, at_least(1)),
    Setting("IMPORT_MAX_MEMBERS", 200,
            "Most files a zip or XLSX may hold.", integer, at_least(1)),
    Setting("IMPORT_MAX_RATIO", 200,
            "Most a member of a zip or XLSX may expand (unpacked size ÷ packed size): a zip "
            "bomb is refused before it is unpacked.", integer, at_least(1)),
    Setting("IMPORT_TIMEOUT_MINUTES", 30,
            "An import job running longer than this is stopped and reported as failed.",
            integer, at_least(1)),
    Setting("IMPORT_KEEP_MINUTES", 60,
            "How long an import job's report stays readable after it finished.",
            integer, at_least(1)),
    Setting("JOB_WORKERS", 1,
            "Import job workers `riskmap serve` starts beside the web server. 0: start them "
            "yourself with `riskmap worker` (on this host or another that sees UPLOAD_DIR).",
            integer, at_least(0)),
    Setting("WEB_DATABASE_URL", None,
            "URL the web service connects with. Unset: the store's URL with the user "
            "`riskmap_web` (a role that owns no table and cannot bypass row-level security). "
            "Set it where that role needs a password (as docker-compose.yml does).",
            check=database_url),
    Setting("PUBLIC_MIN_PROJECTS", 10,
            "A public district value made from fewer projects than this is hidden (with "
            "further values hidden so that it cannot be worked back from the city total).", integer,
            at_least(1)),
    Setting("PUBLIC_DOMINANCE", 0.85,
            "A public money total is hidden where its two largest projects make this share "
            "of it or more.", number, share),
    Setting("MAP_APPROVAL_NUMBER", "",
            "The map approval number (审图号) printed on the public map, e.g. `云S(2026)001号`."),
    Setting("REPORT_WORKERS", 2,
            "Reports (PDF, XLSX …) made at the same time in the background; more requests wait "
            "their turn, and the web server keeps answering meanwhile.", integer, at_least(1)),
    Setting("REPORT_KEEP_MINUTES", 60,
            "How long a finished report stays ready to download before it is deleted.", integer,
            at_least(1)),
    Setting("REPORT_BASEMAP_TIMEOUT", 10.0,
            "Seconds a PDF report waits for the tiles of its map's basemap (the one BASEMAP "
            "shows first, when it is Tianditu or a WGS84 BASEMAP_URL). Tiles not all had in "
            "time: the map is drawn over the offline outline instead, and says so.", number,
            at_least(1)),
    Setting("REPORT_DIR", str(DATA_HOME / "reports"),
            "Folder where reports in the making keep their progress and finished ones wait "
            "for download; every worker process of the service must see the same folder."),
    Setting("RETURN_VISIT_LEAD_DAYS", 60,
            "Days before the 2-year mark after completion acceptance on which the platform "
            "opens a project's return visit for its TIS (when a task list is loaded and on "
            "`riskmap tasks`).", integer, at_least(0)),
    Setting("HOST", "127.0.0.1",
            "Address `riskmap serve` and gunicorn (webmap/gunicorn_conf.py) listen on; "
            "`0.0.0.0` for every interface (in a container)."),
    Setting("PORT", 5000, "Port `riskmap serve` and gunicorn listen on.", integer, port),
    Setting("WORKERS", 3,
            "gunicorn worker processes (about 2 × cores + 1); each answers THREADS requests "
            "at a time.", integer, at_least(1)),
    Setting("THREADS", 4, "Threads of each gunicorn worker.", integer, at_least(1)),
    Setting("TIMEOUT", 120,
            "Seconds gunicorn lets a request run before it restarts the worker (reports are "
            "made in the background, so only pages, APIs and uploads count).", integer,
            at_least(1)),
    Setting("PROXIES", 0,
            "Number of reverse proxies in front of the service (werkzeug ProxyFix): their "
            "X-Forwarded-For, -Proto, -Host, -Port and -Prefix headers are trusted, so links, "
            "TileJSON and sign-in limits see the client's address, `https` and a URL prefix "
            "such as `/riskmap`. 0: these headers are ignored (never trust them without a "
            "proxy that sets them).", integer, at_least(0)),
    Setting("CORS_ORIGINS", "",
            "Web origins, comma-separated (`https://gis.example.gov.cn`, or `*` for any), whose "
            "pages may load the public layers and tiles (/api/public/…, /tiles/public/…) across "
            "origins, without cookies. Empty: same origin only. Signed-in endpoints are never "
            "shared.", check=origins),
    Setting("PUBLIC_BASE_URL", "",
            "The address owners reach the platform at (`https://idi.example.gov.cn`, with the "
            "path prefix if any), printed in the 告知书 as the online claim address. Empty: the "
            "address the request came to, unless that is this machine (127.0.0.1, localhost): "
            "then the 告知书 gives the claim hotline only, never an address a phone cannot "
            "reach. A loopback value stops the service at start.", check=public_base_url),
    Setting("PUBLIC_MAX_AGE", 300,
            "Seconds a browser or a shared cache (proxy, CDN) may reuse a public layer or tile "
            "without asking again; after that it revalidates with the ETag.", integer,
            at_least(0)),
    Setting("ACCESS_LOG", "-",
            "Where each request is logged as one JSON line (time, request id, method, path, "
            "endpoint, status, bytes, milliseconds, address, user): `-` standard output, a "
            "file, or empty for none. The request id is echoed in the X-Request-ID header."),
    Setting("METRICS_TOKEN", None,
            "Bearer token Prometheus sends to read /metrics. Unset: /metrics answers only "
            "requests made on this machine directly, not through a proxy."),
    # scale-out: read replicas and report jobs on separate job workers
    Setting("REPLICA_URLS", None,
            "Streaming replicas that answer reads (maps, tiles, statistics, OGC API) as the web "
            "role, comma-separated URLs like WEB_DATABASE_URL's. Empty: every read goes to the "
            "primary. Writes, POSTs and a client's reads just after its own write always do.",
            check=replica_urls),
    Setting("REPLICA_MAX_LAG_SECONDS", 30,
            "A replica more than this many seconds behind the primary is taken out of the "
            "read pool until it catches up; the primary answers meanwhile.", integer,
            at_least(0)),
    Setting("REPLICA_CHECK_SECONDS", 2,
            "How long a web process trusts a replica's last lag check before asking again.",
            number),
    Setting("READ_OWN_WRITES_SECONDS", 60,
            "After a client writes (files a claim, uploads, takes a step), its reads go to the "
            "primary for this long, so it sees its own write at once.", integer, at_least(0)),
    Setting("REPORT_QUEUE", "threads",
            "Where reports are made: `threads` inside the web process, or `rq` as jobs in "
            "Redis made by `riskmap worker` (on any host) into the shared REPORT_DIR.",
            check=report_queue),
    # ---- issue 16: speed at a city's scale
    Setting("RESPONSE_CACHE_SECONDS", 3600,
            "Seconds the shared store (Redis) keeps a computed map answer (district layer, "
            "tile, heat, statistics, portfolio) for the next reader of the same data version, "
            "day, tenant and URL, so the second regulator to open the map pays nothing. A write "
            "changes the data version, so nothing stale is ever served. 0: no cache.",
            integer, at_least(0)),
    Setting("WARM_EVERY_SECONDS", 60,
            "How often a job worker (`riskmap worker`, started by `riskmap serve`) makes sure "
            "the statistics and the market's portfolio are computed for the data as it is "
            "(as `riskmap warm` does): after a write, at midnight or when the cache expired it "
            "computes them before a regulator asks; while they are current a round takes "
            "milliseconds. 0: only `riskmap warm` warms them.", integer, at_least(0)),
)
SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}


def defaults() -> dict[str, Any]:
    return {s.name: s.default for s in SETTINGS}


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Settings given as environment variables, parsed to their types.

    >>> from_environment({"RISKMAP_DB_PORT": "6000", "DATABASE_URL": "postgresql://x/y"})
    {'DB_PORT': 6000, 'DATABASE_URL': 'postgresql://x/y'}
    >>> from_environment({"RISKMAP_DB_PORT": "abc"})
    Traceback (most recent call last):
    ...
    webmap.settings.SettingError: 设置 RISKMAP_DB_PORT='abc' 有误：应为整数 — not an integer
    """
    environ = os.environ if environ is None else environ
    found: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.variable)
        if raw is not None:
            try:
                found[setting.name] = setting.parse(raw)
            except ValueError as exc:
                raise _error(setting.variable, raw, exc) from None
    if environ.get("DATABASE_URL"):
        found["DATABASE_URL"] = environ["DATABASE_URL"]
    return found


def validate(config) -> None:
    """Raise SettingError, naming the first setting whose value the service cannot use."""
    for setting in SETTINGS:
        value = config.get(setting.name)
        if setting.check is None or value is None:
            continue
        try:
            setting.check(value)
        except ValueError as exc:
            variable = setting.variable
            if setting.name == "DATABASE_URL" and os.environ.get("DATABASE_URL"):
                variable = "DATABASE_URL"  # the plain variable won: name the one that was set
            raise _error(variable, value, exc) from None


def _error(variable: str, value: Any, problem: ValueError) -> SettingError:
    shown = value
    if variable.endswith("DATABASE_URL"):
        shown = database_url_shown(str(value))
    elif variable.endswith("REPLICA_URLS"):
        shown = ",".join(database_url_shown(url) for url in url_list(str(value)))
    return SettingError(f"设置 {variable}={shown!r} 有误：{problem}")


def database_url_shown(url: str) -> str:
    """A URL as a message may print it: without its password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1]


def markdown_table() -> str:
    """The README's table of settings."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for s in SETTINGS:
        default = "(unset)" if s.default is None else f"`{s.default}`"
        # paths read the same on every machine
        default = default.replace(str(DATA_HOME), "<data>")
        default = default.replace(str(assets.default_folder(PROJECT_ROOT, IN_CHECKOUT)),
                                  "<node_modules or the package's copy>")
        lines.append(f"| `{s.variable}` | {default} | {s.help} |")
    return "\n".join(lines)
