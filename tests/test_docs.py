"""The book builds offline from the notebooks, and every chapter page shows its outputs."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "docs"))
import build  # noqa: E402  (docs/build.py)


@pytest.mark.slow
@pytest.mark.xdist_group("book")     # the tests that need the built book share one worker
def test_book_renders_every_chapter_with_outputs(built_book):
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


def _code(source: str, tags: list[str] | None = None) -> dict:
    return {"cell_type": "code", "id": "c1", "source": source, "outputs": [],
            "metadata": {"tags": tags} if tags is not None else {}}


def test_book_keeps_the_hide_tags_of_the_notebook():
    cell = _code("# Solution to exercise 1\nassert 1 + 1 == 2", ["hide-cell", "unrelated"])
    assert build.book_cell(cell)["metadata"]["tags"] == ["hide-cell"]
    for tag in ("hide-input", "hide-output"):
        assert build.book_cell(_code("x = 1\nx", [tag]))["metadata"]["tags"] == [tag]
    hidden = build.book_cell(_code("#| hide\nimport x", ["hide-input"]))
    assert hidden["metadata"]["tags"] == ["hide-input", "remove-cell"]


def test_book_folds_exported_cells_that_define_only_private_names():
    private = build.book_cell(_code("#| export\ndef _butterfly(a, b): return a + b, a - b\n_W = 3"))
    assert private["metadata"]["tags"] == ["hide-input"]
    mixed = build.book_cell(_code("#| export\ndef _helper(): pass\ndef ntt(values): return values"))
    assert mixed["metadata"]["tags"] == []
    not_exported = build.book_cell(_code("def _demo(): pass"))
    assert not_exported["metadata"]["tags"] == []
    imports_only = build.book_cell(_code("#|export\nimport math"))
    assert imports_only["metadata"]["tags"] == []
    assert build.book_cells(_code("#| export\n_SECRET = 1")) == [build.book_cell(_code("#| export\n_SECRET = 1"))]


def test_book_writes_an_api_card_after_exported_public_definitions():
    source = ('#| export\n@patch\ndef inverse(self: Fr) -> Fr:\n    "The inverse; `InverseOfZero` for 0."\n'
              '    return self\n\n@dataclass(frozen=True)\nclass Proof:\n    "A Groth16 proof <A, B, C>."\n'
              '    A: G1\n    B: G2\n    def to_json(self, indent: int = 1) -> dict:\n'
              '        "snarkjs proof.json."\n    def _raw(self): pass\n')
    cells = build.book_cells(_code(source))
    assert [c["cell_type"] for c in cells] == ["code", "markdown"]
    card = cells[1]["source"]
    assert "<code>Fr.inverse() -&gt; Fr</code>" in card, card
    assert "The inverse; <code>InverseOfZero</code> for 0." in card
    assert "<code>Proof(A: G1, B: G2)</code>" in card and "A Groth16 proof &lt;A, B, C&gt;." in card
    assert "<code>Proof.to_json(indent: int=1) -&gt; dict</code>" in card and "_raw" not in card
    assert cells[1]["id"] == "c1-api" and cells[1]["metadata"]["tags"] == ["api-card"]
    assert build.book_cells(_code("def demo(): pass")) == [build.book_cell(_code("def demo(): pass"))]
    errors = '#| export\nclass CurveError(ValueError):\n    "A bad point."\nclass Empty(CurveError): pass'
    assert len(build.book_cells(_code(errors))) == 1, "exception classes need no card: the code says it all"
    assert build.book_cells(_code("#| export\n#| hide\ndef f(): pass"))[-1]["cell_type"] == "code"
