"""The book as a reader sees it: code that fits the column (fast), and every built page checked in a real browser."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NBS = REPO / "nbs"
MAX_LINE = 100      # characters of a code line that fit the book's column without a sideways scroll

# Notebooks whose code lines all fit the column; extend this list as chapters comply (all of them, in the end).
CHECKED = sorted(p.name for p in NBS.glob("*.ipynb"))   # every notebook of the book


def long_code_lines(path: Path, limit: int = MAX_LINE) -> list[str]:
    "Each code line of the notebook longer than `limit`, as 'file cell <id> line <n>: <length> chars'."
    found = []
    for index, cell in enumerate(json.loads(path.read_text())["cells"]):
        if cell["cell_type"] != "code":
            continue
        for number, line in enumerate("".join(cell["source"]).splitlines(), start=1):
            if len(line) > limit:
                found.append(f"{path.name} cell {cell.get('id', index)} line {number}: {len(line)} chars: "
                             f"{line[:60]}…")
    return found


@pytest.mark.parametrize("name", CHECKED)
def test_notebook_code_lines_fit_the_column(name):
    path = NBS / name
    assert path.is_file(), f"{name} is in CHECKED but {path} does not exist"
    too_long = long_code_lines(path)
    assert not too_long, f"{len(too_long)} code lines longer than {MAX_LINE} characters:\n" + "\n".join(too_long)


@pytest.mark.parametrize("name", CHECKED)
def test_exercise_solutions_are_folded(name):
    "Worked solutions keep their `hide-cell` tag (nbdev-clean must not strip it), so the book folds them."
    cells = json.loads((NBS / name).read_text())["cells"]
    unfolded = [cell.get("id", "?") for cell in cells if cell["cell_type"] == "code"
                and "".join(cell["source"]).startswith("# Solution to exercise")
                and "hide-cell" not in cell.get("metadata", {}).get("tags", [])]
    assert not unfolded, f"{name}: solution cells without the hide-cell tag: {unfolded}"


def test_long_code_lines_are_named_by_file_cell_and_line(tmp_path):
    nb = {"cells": [{"cell_type": "markdown", "id": "m", "source": "x" * 300},
                    {"cell_type": "code", "id": "abc", "source": ["short\n", "y" * 101]}]}
    (tmp_path / "t.ipynb").write_text(json.dumps(nb))
    assert long_code_lines(tmp_path / "t.ipynb") == [f"t.ipynb cell abc line 2: 101 chars: {'y' * 60}…"]


# --- Every built page in a real browser ---------------------------------------------------------------------------

sys.path.insert(0, str(REPO / "docs"))
import build  # noqa: E402  (docs/build.py: which pages the book has)

PAGES = ["index", *(str(p.with_suffix("")) for p in build.chapter_pages())]
VIEWPORT = {"width": 1280, "height": 900}

# Run in the page once MathJax has typeset it: what a reader would see as broken, as a list of reasons.
PAGE_PROBLEMS_JS = r"""
() => {
  const problems = [];
  const article = document.querySelector("article.bd-article") || document.querySelector("main");
  if (!article) return ["no article element on the page"];
  const column = article.getBoundingClientRect();
  const failures = article.querySelectorAll(".output.traceback, .output.error");
  if (failures.length) problems.push(`${failures.length} cell(s) rendered an execution error`);
  const errors = article.querySelectorAll("mjx-merror");
  if (errors.length) problems.push(`${errors.length} MathJax error(s), first: `
                                   + JSON.stringify(errors[0].textContent.slice(0, 80)));
  const rawTex = /\$\$|\\(frac|mathbb|mathrm|begin|end|left|right|cdot|sum|prod|alpha|beta|tau)\b/;
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  const raw = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest("mjx-container, script, style, pre, code, textarea, .MathJax_Preview"))
      continue;
    // a TeX command, $$, or inline $x$ math left as text (not a currency amount like $362, nor two
    // environment variables like $HOME and $PATH)
    if (rawTex.test(node.textContent) || /\$[A-Za-z\\{][^$\n]{0,60}\$(?![A-Za-z_{])/.test(node.textContent))
      raw.push(node.textContent.trim().slice(0, 80));
  }
  if (raw.length) problems.push(`${raw.length} text node(s) with raw TeX outside math, first: `
                                + JSON.stringify(raw[0]));
  const scrolls = el => {
    for (let a = el; a && a !== article; a = a.parentElement) {
      const style = getComputedStyle(a);
      if (["auto", "scroll", "hidden"].includes(style.overflowX)
          && a.getBoundingClientRect().right <= column.right + 1) return true;
    }
    return false;
  };
  const wide = [];
  for (const el of article.querySelectorAll("table, mjx-container[display='true'], div.math, img, svg")) {
    if (el.closest("mjx-container") && el.tagName.toLowerCase() !== "mjx-container") continue;
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > column.right + 1 && !scrolls(el))
      wide.push(`${el.tagName.toLowerCase()} ${Math.round(box.width)} px`);
  }
  if (wide.length) problems.push(`${wide.length} element(s) wider than the ${Math.round(column.width)} px `
                                 + `column outside a scroll box: ${wide.slice(0, 3).join(", ")}`);
  const images = [...article.querySelectorAll("img, svg")].filter(el => !el.closest("mjx-container, button"));
  if (!images.length) problems.push("no image (img or svg) in the article");
  return problems;
}
"""


@pytest.fixture(scope="module")
def book_server(built_book):
    "The built book served over HTTP on a free local port, for the duration of this module."
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
                              cwd=built_book, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/index.html", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"the book server on port {port} did not answer")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.xdist_group("book")     # after the book build, on the worker that built it
@pytest.mark.parametrize("page_name", PAGES)
def test_book_page_reads_well_in_a_browser(page_name, book_server, browser, screenshots):
    page = browser.new_page(viewport=VIEWPORT)
    console_errors, failed = [], []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    page.on("requestfailed", lambda request: failed.append(f"{request.url} ({request.failure})"))
    page.on("response", lambda response: failed.append(f"{response.url} (HTTP {response.status})")
            if response.status >= 400 else None)
    try:
        page.goto(f"{book_server}/{page_name}.html", wait_until="load", timeout=60_000)
        page.evaluate("""async () => {
            if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
        }""")
        page.wait_for_load_state("networkidle", timeout=30_000)
        problems = page.evaluate(PAGE_PROBLEMS_JS)
        page.screenshot(path=str(screenshots / f"test_book_page-{page_name.replace('/', '_')}.png"))
    finally:
        page.close()
    problems += [f"console error: {text[:160]}" for text in console_errors[:3]]
    problems += [f"failed request: {text[:160]}" for text in failed[:3]]
    assert not problems, f"{page_name}.html: " + "; ".join(problems)
