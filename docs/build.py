"""Build the lumoz_ref book offline.

Quarto (what `nbdev-docs` uses) cannot be installed here, so the book is rendered with Sphinx + myst-nb:

1. copy every notebook of `nbs/` to `_book/`, removing nbdev's `#|` directive lines and cells that only
   configure nbdev (`default_exp`), hiding `#| hide` cells; exported code stays visible — it is the book;
2. stage MathJax, RequireJS and the Jupyter widget manager from `interop/node_modules` as static files;
3. run Sphinx, which executes every page (myst-nb) and writes the HTML site to `_docs/`.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NBS, BOOK, OUT = REPO / "nbs", REPO / "_book", REPO / "_docs"
NODE = REPO / "interop" / "node_modules"
ASSETS = {  # staged name -> source under node_modules
    "mathjax": NODE / "mathjax" / "es5",
    "require.js": NODE / "requirejs" / "require.js",
    "embed-amd.js": NODE / "@jupyter-widgets" / "html-manager" / "dist" / "embed-amd.js",
}


def directives(cell: dict) -> list[str]:
    "The nbdev directive lines (`#| ...`) at the top of a code cell."
    return [l.strip() for l in "".join(cell["source"]).splitlines() if l.strip().startswith("#|")]


def book_cell(cell: dict) -> dict | None:
    "The cell as the book shows it, or None when it only configures nbdev."
    if cell["cell_type"] != "code":
        return cell
    flags = directives(cell)
    body = "\n".join(l for l in "".join(cell["source"]).splitlines() if not l.strip().startswith("#|")).strip()
    if not body:
        return None
    tags = ["remove-cell"] if any(f.split()[1:2] == ["hide"] for f in flags if len(f.split()) > 1) else []
    return {**cell, "source": body, "outputs": [], "execution_count": None,
            "metadata": {**cell.get("metadata", {}), "tags": tags}}


def chapter_pages() -> list[Path]:
    "Every notebook of nbs/ except the home page, in chapter order."
    return sorted(p.relative_to(NBS) for p in NBS.rglob("*.ipynb")
                  if p.name != "index.ipynb" and not any(part.startswith((".", "_")) for part in p.parts))


def write_book() -> list[Path]:
    "Write the processed notebooks to _book/; return the chapter pages."
    shutil.rmtree(BOOK, ignore_errors=True)
    pages = chapter_pages()
    for rel in [Path("index.ipynb"), *pages]:
        nb = json.loads((NBS / rel).read_text())
        nb["cells"] = [c for c in map(book_cell, nb["cells"]) if c is not None]
        if rel.name == "index.ipynb":
            toc = "\n".join(str(p.with_suffix("")) for p in pages)
            nb["cells"].append({"cell_type": "markdown", "metadata": {},
                                "source": f"```{{toctree}}\n:caption: Chapters\n:maxdepth: 1\n\n{toc}\n```"})
        nb.setdefault("metadata", {})["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        (BOOK / rel).parent.mkdir(parents=True, exist_ok=True)
        (BOOK / rel).write_text(json.dumps(nb, indent=1))
    for name, src in ASSETS.items():
        if not src.exists():
            sys.exit(f"missing docs asset {src}: run `make install` (npm ci in interop/)")
        dst = BOOK / "_static_assets" / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dst)
    return pages


def main() -> None:
    pages = write_book()
    env = {**os.environ, "LUMOZ_VECTORS": os.environ.get("LUMOZ_VECTORS", str(REPO.parent / "shared" / "vectors"))}
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c", str(REPO / "docs"), str(BOOK), str(OUT)]
    subprocess.run(cmd, check=True, env=env, cwd=REPO)
    print(f"book: {len(pages)} chapters + index -> {OUT / 'index.html'}")


if __name__ == "__main__":
    main()
