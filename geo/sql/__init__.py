"""Named SQL files of the store, read by the code and migrations that run them."""

from importlib.resources import files


def read_sql(name: str) -> str:
    """The text of ``geo/sql/<name>``."""
    return files(__package__).joinpath(name).read_text(encoding="utf-8")
