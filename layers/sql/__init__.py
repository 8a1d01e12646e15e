"""Named analytic SQL of the layers."""

from functools import cache
from importlib.resources import files


@cache
def read_sql(name: str) -> str:
    """The text of ``layers/sql/<name>``."""
    return files(__package__).joinpath(name).read_text(encoding="utf-8")


# The projects inside a box (:west, :south, :east, :north in degrees), for the layers that
# show a part of the map: a tile or a heat view then reads only the policies of its projects,
# not the whole programme's. By id from riskmap_projects_in_box (geo/sql/0009_scale.sql),
# which uses the GiST index on location where row security would not let the planner.
# As an array computed once (an InitPlan): "IN (SELECT f())" could be planned as a subplan run
# again for every row, which made a tile of the whole city take minutes.
_BOX = ("AND p.id = ANY(ARRAY(SELECT riskmap_projects_in_box(CAST(:west AS float8), "
        "CAST(:south AS float8), CAST(:east AS float8), CAST(:north AS float8))))")


# The projects of the area :city (a city's, a province's or the nation's code), by the range of
# their districts' codes (the district index), for the queries that show an area's figures:
# through row security the scope otherwise read every policy of the store before the area's
# districts were picked (a city's claims layer took 6 s at the nation's 1,000,000 projects).
_AREA = ("AND p.district_code BETWEEN "
         "CAST(rpad(riskmap_jurisdiction_prefix(:city), 6, '0') AS char(6)) "
         "AND CAST(rpad(riskmap_jurisdiction_prefix(:city), 6, '9') AS char(6))")


@cache
def area_scope() -> str:
    """scope.sql narrowed to the projects of the area given as :city."""
    return read_sql("scope.sql").replace("/*area*/", _AREA)


@cache
def boxed_scope() -> str:
    """scope.sql narrowed to the projects inside the box given as parameters."""
    return read_sql("scope.sql").replace("/*box*/", _BOX)  # policies' and projects' own
