"""The docs cannot contradict the tree: every module is named in the developer guide's
architecture and every module named there exists; every relative link of the README and of
docs/ reaches a file (and a heading); the README stays a front page; no issue number in any
Markdown file (the commit log is the history); a pointer from the code or the app to the docs
names a file and a section that exist."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "reseaux"
GUIDE = ROOT / "docs" / "developpement.md"
#: Folders that are not the project's own text (installed, built or vendored).
NOT_OURS = {".git", ".venv", "node_modules", "build", "vendor", "__pycache__", ".pytest_cache", "screenshots"}
README_MAX_BYTES = 10_000
README_MAX_LINES = 120

MODULE = re.compile(r"[\w./-]+\.(?:py|js)\b")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
ISSUE_NUMBER = re.compile(r"\b[Ii]ssues? (?:n°\s*)?\d+|\(issues?\b")
DOC_POINTER = re.compile(r"docs/([\w-]+\.md)([^«\n\"]{0,40}«\s*([^»]+?)\s*»)?")


def modules() -> set[str]:
    """Every module of the package, as its path under src/reseaux: Python (but ``__init__``) and
    the map's and the page's JavaScript."""
    found = {p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"} | set(PACKAGE.rglob("*.js"))
    return {p.relative_to(PACKAGE).as_posix() for p in found if "__pycache__" not in p.parts}


def section(text: str, heading: str) -> str:
    """The text under the level-2 ``heading`` of a Markdown document, up to the next one."""
    match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"no « ## {heading} » section"
    return match.group(1)


def named_in(text: str) -> set[str]:
    """The module paths a text names (``annuaire/directory.py``, ``src/reseaux/config.py``)."""
    return {name.removeprefix("src/reseaux/") for name in MODULE.findall(text)}


def markdown_files() -> list[Path]:
    files = []
    for folder, subfolders, names in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if d not in NOT_OURS]
        files += [Path(folder) / n for n in names if n.endswith(".md")]
    return files


def prose(path: Path) -> str:
    """A Markdown file without its fenced code blocks (a shell comment is not a heading)."""
    return re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.M | re.S)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = unicodedata.normalize("NFC", heading.strip().lower())
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(h) for h in re.findall(r"^#{1,6} (.+?)\s*$", prose(path), re.M)}


def flat(text: str) -> str:
    """Text as read: no Markdown emphasis or code marks, one space between words."""
    return " ".join(re.sub(r"[*`]", "", text).split())


def test_every_module_is_named_in_the_architecture_and_every_name_exists():
    architecture = section(GUIDE.read_text(encoding="utf-8"), "Architecture")
    named = named_in(architecture)
    missing = sorted(modules() - named)
    unknown = sorted(n for n in named if not (PACKAGE / n).exists() and not (ROOT / n).exists())
    assert not missing, (
        "modules not named in docs/developpement.md, « Architecture » (give each its "
        "path under src/reseaux and one line on its concern): " + ", ".join(missing)
    )
    assert not unknown, "docs/developpement.md, « Architecture », names modules that do not exist: " + ", ".join(
        unknown
    )


def test_every_file_path_the_docs_name_exists():
    """A path the docs give (``ui/loading.py``, ``tests/test_backup.py``, ``src/reseaux/…``) is
    found from the repository, from src/ or from src/reseaux: a module moved or renamed cannot
    leave its old path behind in a guide."""
    stale = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for name in sorted({n for n in MODULE.findall(doc.read_text(encoding="utf-8")) if "/" in n}):
            bare = name.removeprefix("reseaux/")
            if bare.split("/")[0] in NOT_OURS | {"."}:  # installed or built; « ./fichier.js » in an example
                continue
            if not any((base / bare).exists() for base in (ROOT, ROOT / "src", PACKAGE)):
                stale.append(f"{doc.relative_to(ROOT)}: {name}")
    assert not stale, "paths named in the docs that do not exist:\n" + "\n".join(stale)


def test_every_relative_link_of_the_readme_and_docs_reaches_a_file_and_its_heading():
    broken = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in LINK.findall(prose(doc)):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            goal = (doc.parent / path).resolve() if path else doc
            if not goal.exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and goal.suffix == ".md" and anchor.lower() not in anchors(goal):
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_the_readme_stays_a_front_page():
    readme = (ROOT / "README.md").read_bytes()
    assert len(readme) <= README_MAX_BYTES, f"README.md is {len(readme)} bytes: move the detail to docs/"
    assert readme.count(b"\n") <= README_MAX_LINES
    for guide in ("docs/guide-utilisateur.md", "docs/mettre-en-ligne.md", "docs/developpement.md", "docs/mesures.md"):
        assert f"]({guide})" in readme.decode(), f"the README does not lead to {guide}"


def test_no_markdown_file_tells_issue_numbers():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in markdown_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if ISSUE_NUMBER.search(line)
    ]
    assert not found, "issue numbers in the docs (the commit log is the history):\n" + "\n".join(found)


def test_pointers_from_the_code_and_the_app_reach_a_doc_and_its_section():
    sources = [
        p
        for folder in ("src", "views", "scripts", "bench", "geo", "tests")
        for p in (ROOT / folder).rglob("*")
        if p.suffix in {".py", ".toml", ".js"} and "__pycache__" not in p.parts and p != Path(__file__).resolve()
    ]
    sources += [ROOT / "app.py", ROOT / "serve.py", ROOT / "pyproject.toml", ROOT / "Makefile"]
    wrong = []
    for path in sources:
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(ROOT)
        # The README is a front page now: what the app or a page points at lives in docs/.
        if path.is_relative_to(ROOT / "src") or path.is_relative_to(ROOT / "views"):
            wrong += [f"{where}: points at the README" for _ in re.finditer(r"README", text)]
        for match in DOC_POINTER.finditer(text):
            doc = ROOT / "docs" / match.group(1)
            if not doc.exists():
                wrong.append(f"{where}: docs/{match.group(1)} does not exist")
            elif match.group(3) and flat(match.group(3)) not in flat(doc.read_text(encoding="utf-8")):
                wrong.append(f"{where}: docs/{match.group(1)} has no « {match.group(3)} »")
    assert not wrong, "\n".join(wrong)
