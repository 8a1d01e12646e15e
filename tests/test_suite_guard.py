"""CI must not pass on a run that skipped a database test or ran no test at all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _pytest(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one process", "two workers"])
def test_a_skipped_test_fails_the_run(workers):
    """Alone, and with the README's workers (each worker's skip reaches the controller)."""
    result = _pytest(*workers, "tests/probes/skipping.py")
    assert result.returncode != 0
    assert "every test must run against the real" in result.stdout


def test_a_run_with_no_tests_fails():
    result = _pytest("tests/probes/skipping.py", "-k", "no_such_test")
    assert result.returncode != 0
