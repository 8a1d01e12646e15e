"""Named SQL of the imports."""

from functools import cache
from importlib.resources import files


@cache
def read_sql(name: str) -> str:
    """The text of ``loaders/imports/sql/<name>``."""
    return files(__package__).joinpath(name).read_text(encoding="utf-8")
