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


# --- The built book and a real browser, shared by the book and widget tests -------------------------------------

CHROMIUM = Path("/usr/lib/chromium/chromium")    # Debian's chromium (the /usr/bin wrapper prints a shell warning)


def _run_id() -> str:
    "One id per pytest run, the same in every xdist worker of that run."
    return os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid-{os.getpid()}"


@pytest.fixture(scope="session")
def built_book() -> Path:
    """The book built by `docs/build.py` into `_docs/`, once per test run however many xdist workers ask.

    The first worker to take the lock builds; the others wait on the lock and find the stamp of this run."""
    import fcntl
    import subprocess
    import sys
    out = REPO / "_docs"
    stamp = out / ".built-for-run"
    with open(REPO / ".docs-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (stamp.is_file() and stamp.read_text() == _run_id()):
            subprocess.run([sys.executable, str(REPO / "docs" / "build.py")], check=True, cwd=REPO, timeout=3000)
            stamp.write_text(_run_id())
    return out


def _browser_missing(why: str):
    msg = f"no browser for this test: {why}"
    if os.environ.get("LUMOZ_REQUIRE_BROWSER") == "1":
        pytest.fail(msg + "; LUMOZ_REQUIRE_BROWSER=1 makes this a failure (run `make install` as root to get chromium)")
    pytest.skip(msg)


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium driven by Playwright (no browser download), started and stopped by the test run.

    Missing chromium or playwright: skipped with the reason, a failure under `LUMOZ_REQUIRE_BROWSER=1` (.ci/run)."""
    if not CHROMIUM.is_file():
        _browser_missing(f"{CHROMIUM} not found (Debian package chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _browser_missing("the playwright package is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                    "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    "Where browser tests write their screenshots: $LUMOZ_SCREENSHOTS, else test-output/screenshots in the repo."
    folder = Path(os.environ.get("LUMOZ_SCREENSHOTS", REPO / "test-output" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
