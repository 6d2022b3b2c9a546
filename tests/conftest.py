"""Shared fixtures: where the third-party vectors and the npm interop tools live."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
INTEROP = REPO / "interop"


def _vectors_root() -> Path:
    return Path(os.environ.get("LUMOZ_VECTORS", REPO.parent / "shared" / "vectors")).resolve()


@pytest.fixture(scope="session")
def vectors() -> Path:
    """The third-party vectors directory (`LUMOZ_VECTORS`, default `../shared/vectors`).

    Absent: the test is skipped with the reason, except under `LUMOZ_REQUIRE_VECTORS=1`
    (set by `.ci/run`), where an absent directory is a failure."""
    root = _vectors_root()
    if not (root / "README.md").is_file():
        msg = f"third-party vectors not found at {root} (set LUMOZ_VECTORS)"
        if os.environ.get("LUMOZ_REQUIRE_VECTORS") == "1":
            pytest.fail(msg + "; LUMOZ_REQUIRE_VECTORS=1 makes this a failure")
        pytest.skip(msg)
    return root


def npm_tool(name: str) -> Path:
    """Path of an npm tool's executable under `interop/node_modules/.bin`, or a clear failure."""
    path = INTEROP / "node_modules" / ".bin" / name
    if not path.exists():
        pytest.fail(f"{path} missing: run `make install` (npm ci in interop/) first")
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH; the interop tests need Node.js")
    return path


@pytest.fixture(scope="session")
def snarkjs() -> Path:
    return npm_tool("snarkjs")


@pytest.fixture(scope="session")
def circom() -> Path:
    return npm_tool("circom2")


@pytest.fixture(scope="module")
def native_backend():
    "MCL when installed (chapter 04): the same keys and proofs, several times faster; the backend is restored after."
    from lumoz_ref.curve import BackendUnavailable, get_backend, set_backend
    before = get_backend()
    try:
        set_backend("native")
    except BackendUnavailable:
        pass
    yield
    set_backend(before)
