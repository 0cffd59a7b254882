"""What the project installs may ship inside an MIT project: no GPL licence among the packages of
the runtime lock (requirements.lock, direct and transitive), read from each installed package's
own metadata rather than from a list written here."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

from tests.conftest import ROOT


def _locked(path) -> list[str]:
    return re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", path.read_text(encoding="utf-8"), flags=re.M)


def _licences(name: str) -> list[str]:
    meta = metadata.metadata(name)
    said = [meta.get("License-Expression") or "", ((meta.get("License") or "").splitlines() or [""])[0]]
    return [s for s in said if s] + [c for c in meta.get_all("Classifier") or [] if c.startswith("License")]


def _gpl(text: str) -> bool:
    """GPL in any form but the Lesser one (a library an MIT program may link)."""
    return bool(re.search(r"GPL|General Public License", text)) and not re.search(r"LGPL|Lesser", text)


def _copyleft(licences: list[str]) -> bool:
    """Offered under the GPL alone: a package that also offers another licence may be taken under it."""
    return bool(licences) and all(_gpl(text) for text in licences)


def test_the_rule_tells_gpl_from_the_rest():
    assert _copyleft(["GPL", "License :: OSI Approved :: GNU General Public License v2 or later (GPLv2+)"])
    assert _copyleft(["GPL-3.0-or-later"])
    assert not _copyleft(["License :: OSI Approved :: GNU Library or Lesser General Public License (LGPL)"])
    assert not _copyleft(
        [
            "License :: OSI Approved :: Apache Software License",
            "License :: OSI Approved :: GNU General Public License (GPL)",
        ]
    )
    assert not _copyleft(["MIT", "BSD-3-Clause", "MPL-2.0 AND MIT", "Apache-2.0"])


def test_no_runtime_dependency_is_under_the_gpl():
    locked = _locked(ROOT / "requirements.lock")
    declared = {
        re.split(r"[=<>\[ ]", d)[0].lower()
        for d in tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    }
    assert declared <= {name.lower() for name in locked}  # the lock holds what pyproject declares
    gpl = {name: _licences(name) for name in locked if _copyleft(_licences(name))}
    assert not gpl, f"paquets sous GPL dans requirements.lock : {gpl}"


def test_no_module_of_the_app_imports_unidecode_or_odfpy():
    """Folding is text.fold (standard library), .ods is read by python-calamine."""
    sources = [*(ROOT / "src").rglob("*.py"), *(ROOT / "views").glob("*.py"), ROOT / "app.py", ROOT / "serve.py"]
    found = [
        str(p.relative_to(ROOT))
        for p in sources
        if re.search(r"^\s*(from|import)\s+(unidecode|odf)\b", p.read_text(encoding="utf-8"), flags=re.M)
    ]
    assert not found
