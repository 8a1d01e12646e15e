# Alembic's env.py runs migrations when imported, so doctest collection must skip it.
collect_ignore_glob = ["geo/migrations/*", "bench/*", "build/*", ".venv/*"]
