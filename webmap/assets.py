"""The files of npm packages the pages load (Leaflet, its plugins, ECharts): the one list of what
the service serves at /vendor/ and what a wheel ships inside the package.

In a checkout they come from ``node_modules`` (``npm ci``). Building the package (setup.py)
copies them to ``webmap/vendor``, so an installed wheel serves them with no checkout beside it.
This module needs nothing but the standard library: setup.py loads it before any dependency
is installed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

VENDOR_FILES: dict[str, tuple[str, ...]] = {
    "leaflet": ("leaflet.js", "leaflet.css", "images/layers.png", "images/layers-2x.png",
                "images/marker-icon.png", "images/marker-icon-2x.png",
                "images/marker-shadow.png"),
    "leaflet.heat": ("leaflet-heat.js",),
    "leaflet.vectorgrid": ("Leaflet.VectorGrid.bundled.min.js",),
    "echarts": ("echarts.min.js",),
    # the map's grouped layer list and its "export this map" (PNG)
    "leaflet.control.layers.tree": ("L.Control.Layers.Tree.js", "L.Control.Layers.Tree.css"),
    "html-to-image": ("html-to-image.js",),
    # the OpenAPI document's interactive page (/api/docs)
    "swagger-ui-dist": ("swagger-ui-bundle.js", "swagger-ui.css"),
}
# where a package keeps its files, when not in dist/ (the URL says /dist/ for every package)
SUBFOLDER: dict[str, str] = {"swagger-ui-dist": "", "leaflet.control.layers.tree": ""}
PACKAGED = Path(__file__).resolve().parent / "vendor"


def default_folder(project_root: Path, in_checkout: bool) -> Path:
    return project_root / "node_modules" if in_checkout else PACKAGED


def files(folder: Path) -> list[Path]:
    """Every vendored file, as its path under ``folder`` (``<package>/dist/<file>``)."""
    return [folder / package / subfolder(package) / name
            for package, names in VENDOR_FILES.items() for name in names]


def subfolder(package: str) -> str:
    return SUBFOLDER.get(package, "dist")


def is_vendored(package: str, filename: str) -> bool:
    return filename in VENDOR_FILES.get(package, ())


def missing(folder: Path) -> list[str]:
    """The vendored files ``folder`` lacks, relative to it."""
    return [str(path.relative_to(folder)) for path in files(folder) if not path.is_file()]


def check_folder(folder: str) -> None:
    """The service cannot draw a map without them: say so at start, not with a 404 later."""
    lacking = missing(Path(folder))
    if lacking:
        raise ValueError(
            f"缺少网页资源 {lacking[0]}（共缺 {len(lacking)} 个）；在源码目录运行 npm ci，"
            f"或指向含这些文件的 node_modules — lacks {lacking[0]} ({len(lacking)} missing): "
            "run `npm ci` in the checkout, or point it to a node_modules folder with them")


def copy(source: Path, target: Path) -> None:
    """Copy the vendored files from ``source`` (node_modules) to ``target``."""
    check_folder(str(source))
    for path in files(source):
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
