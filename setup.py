"""Builds the package with the web assets its pages load copied in from node_modules
(webmap/assets.py lists them), so that a wheel installed anywhere serves the map offline.
Everything else about the package is in pyproject.toml."""

import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def _assets():
    # by path: the package's dependencies are not installed while it is built
    spec = importlib.util.spec_from_file_location("riskmap_assets", HERE / "webmap" / "assets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildWithAssets(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install serves the checkout's node_modules
        try:
            _assets().copy(HERE / "node_modules", Path(self.build_lib) / "webmap" / "vendor")
        except ValueError as exc:
            raise SystemExit(f"node_modules: {exc}") from None


setup(cmdclass={"build_py": BuildWithAssets})
