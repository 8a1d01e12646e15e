"""Named analytic SQL of the layers."""

from functools import cache
from importlib.resources import files


@cache
def read_sql(name: str) -> str:
    """The text of ``layers/sql/<name>``."""
    return files(__package__).joinpath(name).read_text(encoding="utf-8")
