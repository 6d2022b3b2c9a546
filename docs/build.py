"""Build the lumoz_ref book offline.

Quarto (what `nbdev-docs` uses) cannot be installed here, so the book is rendered with Sphinx + myst-nb:

1. copy every notebook of `nbs/` to `_book/`, removing nbdev's `#|` directive lines and cells that only
   configure nbdev (`default_exp`), hiding `#| hide` cells and keeping the `hide-*`/`remove-*` tags of the
   notebook's cell metadata. Exported code stays in the book: a cell that defines only private names (hot
   loops, C bindings, helpers) is folded (`hide-input`), and a cell that defines public functions or classes
   is followed by an API card (signature + one-line docstring, read with `ast`, nothing imported);
2. stage MathJax, RequireJS and the Jupyter widget manager from `interop/node_modules` as static files;
3. run Sphinx, which executes every page (myst-nb) and writes the HTML site to `_docs/`.
"""
from __future__ import annotations

import ast
import copy
import html
import json
import os
import re
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


def directive_names(cell: dict) -> list[str]:
    "The directive words of a code cell: `#| export` and `#|export` both give `export`."
    return [d[2:].split()[0] for d in directives(cell) if d[2:].split()]


KEPT_TAGS = ("hide-cell", "hide-input", "hide-output", "remove-cell", "remove-input", "remove-output")
EXPORTS = {"export", "exports", "exporti"}


def _is_private(name: str) -> bool:
    return name.split(".")[-1].startswith("_")


def _target_names(node: ast.AST) -> list[str]:
    "Names bound by an assignment target (`a`, `a, b`, not attributes or subscripts)."
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [n for e in node.elts for n in _target_names(e)]
    return []


def _patched_class(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    "The class a fastcore `@patch` function is added to (the annotation of its first argument)."
    patched = any(isinstance(d, ast.Name) and d.id == "patch" for d in node.decorator_list)
    args = node.args.posonlyargs + node.args.args
    if patched and args and args[0].annotation is not None:
        return ast.unparse(args[0].annotation)
    return None


def defined_names(source: str) -> list[str]:
    "The top-level names a cell defines by def, class or assignment (`Cls.meth` for fastcore `@patch`)."
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            owner = _patched_class(node)
            names.append(f"{owner}.{node.name}" if owner else node.name)
        elif isinstance(node, ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [n for t in node.targets for n in _target_names(t)]
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            names += _target_names(node.target)
    return names


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef, drop_self: bool = False) -> str:
    args = node.args
    if drop_self and (args.posonlyargs or args.args):
        args = copy.copy(args)
        if args.posonlyargs:
            args.posonlyargs = args.posonlyargs[1:]
        else:
            args.args = args.args[1:]
    returns = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
    return f"({ast.unparse(args)}){returns}"


def _summary(node: ast.AST) -> str:
    "The first paragraph of a docstring on one line (a summary wrapped to fit the column), or nothing."
    doc = (ast.get_docstring(node) or "").strip()
    return " ".join(doc.split("\n\n")[0].split())


def _class_signature(node: ast.ClassDef) -> str:
    "A class's constructor: its `__init__` arguments, else its annotated fields (dataclasses, NamedTuples)."
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
            return _signature(item, drop_self=True).split(" -> ")[0]
    fields = [ast.unparse(i) for i in node.body if isinstance(i, ast.AnnAssign)
              and isinstance(i.target, ast.Name) and "ClassVar" not in ast.unparse(i.annotation)]
    return f"({', '.join(fields)})" if fields else ""


def _is_trivial(node: ast.ClassDef) -> bool:
    "A class whose body is only a docstring or `pass` (an exception class): the code says it all."
    return all(isinstance(item, ast.Pass) or (isinstance(item, ast.Expr) and isinstance(item.value, ast.Constant))
               for item in node.body)


def api_entries(source: str) -> list[tuple[str, str, str]]:
    "(kind, signature, summary) of each public function, class and public method a cell defines."
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    entries = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            owner = _patched_class(node)
            name = f"{owner}.{node.name}" if owner else node.name
            if not _is_private(name):
                kind = "method" if owner else "function"
                entries.append((kind, name + _signature(node, drop_self=bool(owner)), _summary(node)))
        elif isinstance(node, ast.ClassDef) and not _is_private(node.name) and not _is_trivial(node):
            entries.append(("class", node.name + _class_signature(node), _summary(node)))
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and not _is_private(item.name):
                    static = any(ast.unparse(d) == "staticmethod" for d in item.decorator_list)
                    entries.append(("method", f"{node.name}.{item.name}"
                                    + _signature(item, drop_self=not static), _summary(item)))
    return entries


def _inline_code(text: str) -> str:
    "Markdown backticks as <code> (the card is raw HTML, where Markdown is not parsed)."
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def api_card(source: str, cell_id: str = "") -> dict | None:
    "A Markdown cell listing the signature and one-line docstring of each public name the code defines."
    entries = api_entries(source)
    if not entries:
        return None
    lines = []
    for kind, signature, summary in entries:
        lines.append(f"<dt><em>{kind}</em> <code>{html.escape(signature)}</code></dt>")
        lines.append(f"<dd>{_inline_code(html.escape(summary))}</dd>")
    body = "\n".join(['<dl class="api-card">', *lines, "</dl>"])
    return {"cell_type": "markdown", "id": f"{cell_id}-api"[-64:] if cell_id else "api-card",
            "metadata": {"tags": ["api-card"]}, "source": body}


def book_cell(cell: dict) -> dict | None:
    "The cell as the book shows it, or None when it only configures nbdev."
    if cell["cell_type"] != "code":
        return cell
    flags = directive_names(cell)
    body = "\n".join(l for l in "".join(cell["source"]).splitlines() if not l.strip().startswith("#|")).strip()
    if not body:
        return None
    tags = [t for t in cell.get("metadata", {}).get("tags", []) if t in KEPT_TAGS]
    if "hide" in flags:
        tags.append("remove-cell")
    names = defined_names(body)
    if EXPORTS & set(flags) and names and all(map(_is_private, names)) and "hide-cell" not in tags:
        tags.append("hide-input")
    return {**cell, "source": body, "outputs": [], "execution_count": None,
            "metadata": {**cell.get("metadata", {}), "tags": list(dict.fromkeys(tags))}}


def book_cells(cell: dict) -> list[dict]:
    "The cell as the book shows it, followed by an API card when it exports public functions or classes."
    shown = book_cell(cell)
    if shown is None:
        return []
    if shown["cell_type"] != "code" or not EXPORTS & set(directive_names(cell)) \
            or "remove-cell" in shown["metadata"]["tags"]:
        return [shown]
    card = api_card(shown["source"], cell.get("id", ""))
    return [shown, card] if card else [shown]


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
        nb["cells"] = [shown for c in nb["cells"] for shown in book_cells(c)]
        if rel.name == "index.ipynb":
            toc = "\n".join(str(p.with_suffix("")) for p in pages)
            nb["cells"].append({"cell_type": "markdown", "id": "chapters-toc", "metadata": {},
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


def stage_widget_fonts() -> None:
    "The widget manager's icon fonts where embed-amd.js asks for them: @jupyter-widgets/... beside the pages."
    fonts = OUT / "@jupyter-widgets" / "html-manager" / "dist"
    fonts.mkdir(parents=True, exist_ok=True)
    for font in ASSETS["embed-amd.js"].parent.iterdir():
        if font.suffix in (".woff2", ".woff", ".ttf", ".eot", ".svg"):
            shutil.copy(font, fonts / font.name)


def main() -> None:
    pages = write_book()
    env = {**os.environ, "LUMOZ_VECTORS": os.environ.get("LUMOZ_VECTORS", str(REPO.parent / "shared" / "vectors"))}
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c", str(REPO / "docs"), str(BOOK), str(OUT)]
    subprocess.run(cmd, check=True, env=env, cwd=REPO)
    stage_widget_fonts()
    print(f"book: {len(pages)} chapters + index -> {OUT / 'index.html'}")


if __name__ == "__main__":
    main()
