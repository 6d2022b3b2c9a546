"""The dispute stepper where readers meet it, in a real browser: JupyterLab, Voila and the static book."""
from __future__ import annotations

import os
import pickle
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from lumoz_ref.widgets import serve_dashboard

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    "Poll `url` until it answers (any HTTP status), failing early if the server died."
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode} before {url} answered")
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {timeout} s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def watch(page) -> dict[str, list[str]]:
    "Console errors, page errors and failed requests of a page."
    seen = {"console": [], "page": [], "requests": []}
    page.on("console", lambda m: seen["console"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["page"].append(str(e)))
    page.on("requestfailed", lambda r: seen["requests"].append(f"{r.url}: {r.failure}"))
    return seen


def forward_until_phase_changes(page, forward, phase, limit: int = 30) -> tuple[str, str]:
    "Click forward until the phase text changes; return (before, after)."
    before = phase.inner_text()
    for _ in range(limit):
        forward.click()
        page.wait_for_timeout(150)
        if phase.inner_text() != before:
            return before, phase.inner_text()
    pytest.fail(f"the phase stayed {before!r} after {limit} clicks on forward")


@pytest.fixture(scope="module")
def small_outcome(native_backend, tmp_path_factory) -> Path:
    "One quick real run (the honest scenario cut to 4 L2 blocks), pickled for the notebooks below."
    from lumoz_ref.scenarios import bundled_scenario_dir, load_scenario, run_scenario
    from lumoz_ref.widgets import shortened
    outcome = run_scenario(shortened(load_scenario(bundled_scenario_dir() / "honest.toml"), 4))
    path = tmp_path_factory.mktemp("outcome") / "outcome.pkl"
    path.write_bytes(pickle.dumps(outcome))
    return path


def stepper_notebook(path: Path, outcome: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(
        "import pickle\nfrom lumoz_ref.widgets import DisputeStepper\n"
        f"DisputeStepper(pickle.loads(open({str(outcome)!r}, 'rb').read()))")]
    nbformat.write(nb, str(path))
    return path


def test_stepper_in_jupyterlab(browser, screenshots, small_outcome, tmp_path):
    stepper_notebook(tmp_path / "stepper.ipynb", small_outcome)
    port, token = free_port(), secrets.token_hex(16)
    lab = subprocess.Popen([sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
                            f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
                            f"--ServerApp.root_dir={tmp_path}", "--LabApp.news_url=None",
                            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
                           + (["--allow-root"] if os.geteuid() == 0 else []),
                           cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "lab.log", "wb"),
                           env={**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config")})
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/status?token={token}", lab)
        page.goto(f"http://127.0.0.1:{port}/lab/tree/stepper.ipynb?token={token}")
        page.wait_for_selector(".jp-Notebook", timeout=60_000)
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=60_000)   # the kernel is up
        page.locator(".jp-Cell .cm-content").first.click()
        page.keyboard.press("Shift+Enter")                                       # run the cell
        phase = page.locator(".jp-OutputArea .lz-phase").first
        phase.wait_for(timeout=90_000)
        forward = page.locator(".jp-OutputArea button:has-text('forward')").first
        before, after = forward_until_phase_changes(page, forward, phase)
        assert before != after
    finally:
        page.screenshot(path=str(screenshots / "test_stepper_in_jupyterlab.png"), full_page=True)
        page.close()
        stop(lab)


def test_stepper_in_voila_with_the_branch_chooser(browser, screenshots, small_outcome, tmp_path):
    notebook = stepper_notebook(tmp_path / "voila.ipynb", small_outcome)
    port = free_port()
    voila = serve_dashboard(port, notebook=notebook)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", voila)
        page.goto(f"http://127.0.0.1:{port}/", timeout=180_000)
        phase = page.locator(".lz-phase").first
        phase.wait_for(timeout=180_000)
        forward = page.locator("button:has-text('forward')").first
        forward_until_phase_changes(page, forward, phase)
        result = page.locator(".widget-html-content:has-text('honest')").first
        assert "DEFENDER_WINS" in result.inner_text() and "CHALLENGER_WINS" not in result.inner_text()
        page.locator("select").first.select_option("no proof")
        page.wait_for_function("() => [...document.querySelectorAll('.widget-html-content')]"
                               ".some(e => e.innerText.includes('(no proof)'))", timeout=300_000)
        replayed = page.locator(".widget-html-content:has-text('(no proof)')").first.inner_text()
        assert "CHALLENGER_WINS" in replayed, replayed
        assert page.locator(".lz-phase").first.inner_text() == "challenge"
    finally:
        page.screenshot(path=str(screenshots / "test_stepper_in_voila_with_the_branch_chooser.png"),
                        full_page=True)
        page.close()
        stop(voila)


@pytest.mark.xdist_group("book")     # needs the built book: the worker that builds it runs it
def test_stepper_in_the_static_book(browser, screenshots, built_book):
    page_file = built_book / "14_widgets.html"
    assert page_file.is_file(), f"{page_file} was not built"
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                              cwd=built_book, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", server)
        seen = watch(page)
        page.goto(f"http://127.0.0.1:{port}/14_widgets.html", wait_until="load")
        page.wait_for_timeout(1500)                      # the widget manager, if any, runs on load
        stepper = page.locator(".lz-stepper").first
        phase, l1 = stepper.locator(".lz-phase"), stepper.locator(".lz-l1")
        assert phase.inner_text().strip() and l1.inner_text().strip()      # never an empty box
        l1_before = l1.inner_text()
        forward_until_phase_changes(page, stepper.locator(".lz-forward"), phase)
        assert l1.inner_text() != l1_before
        assert seen == {"console": [], "page": [], "requests": []}, seen
    finally:
        page.screenshot(path=str(screenshots / "test_stepper_in_the_static_book.png"), full_page=True)
        page.close()
        stop(server)
