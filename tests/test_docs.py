"""The book builds offline from the notebooks, and every chapter page shows its outputs."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "docs"))
import build  # noqa: E402  (docs/build.py)


@pytest.mark.slow
def test_book_renders_every_chapter_with_outputs():
    subprocess.run([sys.executable, str(REPO / "docs" / "build.py")], check=True, cwd=REPO, timeout=3000)
    pages = build.chapter_pages()
    assert len(pages) >= 4, pages
    index = (build.OUT / "index.html").read_text()
    for rel in pages:
        html_path = build.OUT / rel.with_suffix(".html")
        assert html_path.is_file(), f"no page for {rel}"
        html = html_path.read_text()
        assert f'href="{rel.with_suffix(".html").as_posix()}"' in index, f"{rel} missing from the home page's contents"
        assert re.search(r'class="cell_output', html), f"{rel}: no cell outputs on the page"
        assert not re.search(r'class="output (traceback|error)', html), f"{rel}: an error was rendered"
    assert (build.OUT / "_static" / "mathjax" / "tex-mml-chtml.js").is_file(), "MathJax is not served locally"
    dispute = (build.OUT / "11_dispute.html").read_text()     # Markdown(...) tables in outputs render as tables
    assert re.search(r'class="cell_output[^"]*">\s*(?:<div class="pst-scrollable-table-container">)?<table[^>]*>\s*<thead>\s*<tr[^>]*><th[^>]*><p>claim of L2 block 2</p>', dispute), \
        "chapter 11's outcome table was not rendered as a table"
    assert "cdn.jsdelivr" not in index and "cdnjs" not in index, "the book must render offline"


def test_book_keeps_exported_code_and_drops_directives():
    cell = {"cell_type": "code", "source": "#| export\ndef f(): return 1", "metadata": {}, "outputs": []}
    shown = build.book_cell(cell)
    assert shown["source"] == "def f(): return 1" and shown["metadata"]["tags"] == []
    assert build.book_cell({"cell_type": "code", "source": "#| default_exp x", "metadata": {}, "outputs": []}) is None
    hidden = build.book_cell({"cell_type": "code", "source": "#| hide\nimport x", "metadata": {}, "outputs": []})
    assert hidden["metadata"]["tags"] == ["remove-cell"]
