"""The README's configuration table is generated from Settings and must stay in sync."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]


def test_readme_config_table_is_current() -> None:
    r = subprocess.run([sys.executable, "scripts/config_table.py", "--check"], cwd=REPO, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr
