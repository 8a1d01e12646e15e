"""The service's secret key and the security headers of every answer.

The key signs CSRF tokens (sessions themselves live server-side in Redis, `webmap.sessions`).
A key anyone can read in an example file, or a short one, would let an attacker forge them, so
the service refuses to start with one. Without a configured key, one is made on first start
into SECRET_KEY_FILE, so that every worker process reads the same key.

Every HTML answer carries a Content-Security-Policy that allows scripts from the service
itself and inline scripts only with the request's nonce (folium writes its map set-up inline;
our own pages keep their scripts in static files).
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from pathlib import Path

from flask import Flask, Response, g, request

MIN_KEY_LENGTH = 32
# keys printed in docs, examples and our own former compose file: never a real secret
KNOWN_KEYS = frozenset({
    "change-me-to-a-long-random-value", "change-me", "changeme", "change_me", "secret",
    "secret-key", "secret_key", "your-secret-key", "your_secret_key", "dev", "development",
    "development key", "devkey", "test", "testing", "default", "supersecret",
    "super-secret-key", "please-change-me", "replace-me", "insecure",
})


class RefusedToStart(SystemExit):
    """The service will not run with these settings. Exit status 3 makes gunicorn's arbiter
    stop ("worker failed to boot") instead of starting workers over and over."""

    def __init__(self, message: str):
        super().__init__(3)
        self.message = message

    def __str__(self) -> str:
        return self.message


def refuse(message: str) -> RefusedToStart:
    """Print the one line that says why, and the exception that stops the process."""
    print(f"riskmap: 拒绝启动 / refusing to start: {message}", file=sys.stderr, flush=True)
    return RefusedToStart(message)


def checked_key(key: str) -> str:
    """``key`` if it may sign this service's tokens; else the service refuses to start."""
    if key.strip().lower() in KNOWN_KEYS:
        raise refuse("SECRET_KEY is a well-known example value; set a long random one "
                     "(python3 -c 'import secrets; print(secrets.token_hex(32))') or unset it "
                     "to have one made in SECRET_KEY_FILE")
    if len(key) < MIN_KEY_LENGTH:
        raise refuse(f"SECRET_KEY has {len(key)} characters; it needs at least "
                     f"{MIN_KEY_LENGTH} random ones")
    return key


def _key_from_file(path: Path) -> str:
    """The key in ``path``, made there first if missing (safe when workers race to make it)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        draft.write_text(secrets.token_hex(32) + "\n", encoding="ascii")
        os.chmod(draft, 0o600)
        try:
            os.link(draft, path)  # the first process to link wins; the others read its key
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text(encoding="ascii").strip()


def secret_key(config) -> str:
    """The configured key, or the one kept in SECRET_KEY_FILE (made on first start)."""
    if config.get("SECRET_KEY"):
        return checked_key(str(config["SECRET_KEY"]))
    path = Path(config["SECRET_KEY_FILE"])
    try:
        return checked_key(_key_from_file(path))
    except OSError as exc:
        raise refuse(f"SECRET_KEY is unset and SECRET_KEY_FILE {path} cannot be read or made "
                     f"({exc.strerror}); set RISKMAP_SECRET_KEY or a writable "
                     "RISKMAP_SECRET_KEY_FILE") from None


def csp_nonce() -> str:
    """This request's script nonce (templates write it on their inline scripts)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*\bnonce=)")


def with_nonces(html: str) -> str:
    """Folium's page with this request's nonce on each inline script it wrote."""
    return _INLINE_SCRIPT.sub(f'<script nonce="{csp_nonce()}"', html)


def _basemap_origin(config) -> str:
    from webmap.basemaps import origins

    return "".join(f" {origin}" for origin in origins(config))


def policy(config, nonce: str) -> str:
    """The Content-Security-Policy of the service's pages."""
    images = "'self' data: blob:" + _basemap_origin(config)
    return "; ".join([
        "default-src 'self'", f"script-src 'self' 'nonce-{nonce}'",
        # Leaflet and folium position with style attributes; styles cannot run code
        "style-src 'self' 'unsafe-inline'", f"img-src {images}", "font-src 'self' data:",
        "connect-src 'self'", "object-src 'none'", "base-uri 'self'", "form-action 'self'",
        "frame-ancestors 'none'"])


def add_headers(response: Response) -> Response:
    from flask import current_app

    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", policy(current_app.config, csp_nonce()))
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
