"""A prototyper's `pip install`: the wheel carries the bundled scenarios, so in a clean virtual environment outside
the repository `lumoz-ref demo` and `lumoz-ref run honest` work."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def clean_env() -> dict:
    "This environment without what would let the repository's code in (PYTHONPATH, an active venv)."
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    "A fresh venv holding only the built wheel; the dependencies are borrowed from this environment by a .pth line."
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp / "dist"), str(REPO)],
                   check=True, timeout=600, env=clean_env())
    wheel, = (tmp / "dist").glob("lumoz_ref-*.whl")
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True, env=clean_env()).stdout.strip())
    # a plain path entry: the .pth files of this environment (its editable lumoz_ref among them) are not processed
    (site / "borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
                   check=True, timeout=600, env=clean_env())
    return env_dir


def run_outside(env_dir: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([str(env_dir / "bin" / "lumoz-ref"), *args], cwd=env_dir, env=clean_env(), capture_output=True,
                          text=True, timeout=timeout)


def test_the_wheel_ships_the_scenarios_and_imports_from_itself(installed):
    out = subprocess.run([installed / "bin" / "python", "-c",
                          "import lumoz_ref, pathlib; p = pathlib.Path(lumoz_ref.__file__).parent; "
                          "print(p); print(sorted(f.name for f in (p / 'bundled').glob('*.toml')))"],
                         cwd=installed, check=True, capture_output=True, text=True, env=clean_env()).stdout.splitlines()
    assert Path(out[0]).is_relative_to(installed) and not Path(out[0]).is_relative_to(REPO)
    assert {"honest.toml", "fraud.toml"} <= set(eval(out[1]))


def test_run_a_bundled_scenario_by_name(installed):
    result = run_outside(installed, "run", "honest", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    outcome = json.loads(result.stdout)
    assert [g["status"] for g in outcome["games"]] == ["DEFENDER_WINS", "DEFENDER_WINS"]


def test_demo_runs_outside_the_repository(installed):
    result = run_outside(installed, "demo")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "scenario files" not in result.stdout + result.stderr and "Traceback" not in result.stderr
