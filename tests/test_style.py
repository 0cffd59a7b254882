"""The code reads one way: ruff's lint and format settings ([tool.ruff] in pyproject.toml, the
reasons of each rule left out written there) hold over everything Python in the repository."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT

#: What ruff looks at: the app, its pages, the tests, the scripts and the benches.
PATHS = ["src", "views", "tests", "scripts", "bench", "app.py", "serve.py"]
#: A silenced line: the comment « noqa », a colon, its rule or rules (« F401, F811 »), a dash, why.
REASONED = re.compile(r"#[ ]noqa: [A-Z]+[0-9]+(?:, ?[A-Z]+[0-9]+)* — \S")


def ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--no-cache", *PATHS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ruff_check_finds_nothing():
    """Every rule selected in pyproject.toml; a `# noqa` names its rule, and one that silences nothing
    is a finding."""
    result = ruff("check", "--output-format", "concise")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_would_change_nothing():
    result = ruff("format", "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_noqa_says_why():
    """A silenced rule says why it does not apply there, after a dash (ruff checks that the rule is
    named and silences something; the reason is read here)."""
    bare = []
    for folder in PATHS:
        for path in sorted((ROOT / folder).rglob("*.py")) if (ROOT / folder).is_dir() else [ROOT / folder]:
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if "# noqa" in line and "`# noqa" not in line and not REASONED.search(line):
                    bare.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not bare, "\n".join(bare)
