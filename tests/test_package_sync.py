"""`lumoz_ref/` must be exactly what `nbdev-export` makes of `nbs/`: the notebooks are the source."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _modules(lib: Path) -> dict[str, str]:
    return {p.relative_to(lib).as_posix(): p.read_text() for p in lib.rglob("*.py") if "__pycache__" not in p.parts}


def test_package_equals_nbdev_export(tmp_path):
    shutil.copytree(REPO / "nbs", tmp_path / "nbs", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    (tmp_path / "lumoz_ref").mkdir()
    shutil.copy(REPO / "lumoz_ref" / "__init__.py", tmp_path / "lumoz_ref")
    exporter = Path(sys.executable).parent / "nbdev-export"
    subprocess.run([str(exporter)], cwd=tmp_path, check=True, capture_output=True)
    expected, actual = _modules(tmp_path / "lumoz_ref"), _modules(REPO / "lumoz_ref")
    assert sorted(actual) == sorted(expected), "modules without a notebook, or notebooks not exported"
    stale = [name for name in expected if expected[name] != actual[name]]
    assert not stale, f"edited by hand or not re-exported: {stale} (run nbdev-export)"
