"""Sphinx configuration of the lumoz_ref book (built offline by `make docs`; see build.py)."""
from pathlib import Path

project = "lumoz_ref"
author = "lumoz_ref developers"
copyright = "2026, lumoz_ref developers"

extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "_static_assets/**"]

# Every page is executed at build time, so the book always shows the outputs of the current code.
nb_execution_mode = "force"
nb_execution_timeout = 900
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
nb_render_markdown_format = "gfm"   # Markdown(...) outputs with tables render as tables (commonmark has none)
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]

html_theme = "sphinx_book_theme"
html_title = "lumoz_ref — OP Stack + ZK fraud proofs, from first principles"
html_theme_options = {"show_toc_level": 2, "navigation_with_keys": False}
# Offline: MathJax, RequireJS and the widget manager are served from local copies (npm, interop/).
html_static_path = [str(Path(__file__).resolve().parents[1] / "_book" / "_static_assets"),
                    str(Path(__file__).resolve().parent / "_static")]
html_css_files = ["book.css"]   # API cards, folded engine code, wide math scrolling in its own box
html_favicon = str(Path(__file__).resolve().parent / "_static" / "favicon.svg")  # no /favicon.ico 404
html_context = {"default_mode": "light"}   # an explicit theme mode: no "invalid theme mode" console error
mathjax_path = "mathjax/tex-mml-chtml.js"
nb_ipywidgets_js = {
    "require.js": {},
    "embed-amd.js": {"data-jupyter-widgets-cdn": "/nonexistent-cdn/"},
}
# A widget that also offers text/html (the dispute stepper's self-contained copy, the inspectors' tables) is shown
# as that HTML: it works without a kernel and loads nothing, where the widget view would need its JavaScript module.
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
