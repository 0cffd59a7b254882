"""The suite's own rules: a test that drives Chromium or starts a server is a browser test
(``make test-fast`` leaves it out), and the browser helpers see a page that is not drawn."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser import no_error, settle
from tests.conftest import ROOT, clone_path

SAMPLE = """
import pytest

from tests.conftest import ServedApp


def test_with_chromium(page):
    pass


def test_through_a_fixture(served):
    pass


def test_plain():
    pass


def test_a_server_without_the_mark():
    with ServedApp():
        pass
"""


def _pytest(folder, *args: str) -> str:
    answer = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.conftest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:addok",
            "--rootdir",
            str(folder),
            "-q",
            *args,
            str(folder / "test_sample.py"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return answer.stdout + answer.stderr


def test_a_test_using_chromium_is_marked_browser_by_its_fixtures(tmp_path):
    (tmp_path / "test_sample.py").write_text(SAMPLE, encoding="utf-8")
    out = _pytest(tmp_path, "--collect-only", "-m", "not browser")
    collected = {line.split("::")[1] for line in out.splitlines() if "::" in line}
    assert collected == {"test_plain", "test_a_server_without_the_mark"}, out


def test_a_server_started_by_a_test_not_marked_browser_fails_and_says_so(tmp_path):
    (tmp_path / "test_sample.py").write_text(SAMPLE, encoding="utf-8")
    out = _pytest(tmp_path, "-k", "server_without")
    assert "1 failed" in out and "starts a Streamlit server: mark it @pytest.mark.browser" in out


#: A Streamlit page as the browser has it before anything is drawn: the app, connected, an empty main block.
BLANK = """<div data-testid="stApp" data-test-script-state="notRunning" data-test-connection-state="{state}">
  <section data-testid="stMain"><div data-testid="stMainBlockContainer">{content}</div></section></div>"""


@pytest.mark.parametrize(
    "state, content",
    [
        ("CONNECTED", ""),  # connected, nothing drawn
        ("CONNECTING", "<div data-testid='stElementContainer'><p>Carte</p></div>"),  # drawn, not connected yet
    ],
    ids=["rien-dessine", "pas-encore-connecte"],
)
def test_no_error_fails_on_a_page_not_drawn(page, state, content):
    page.set_content(BLANK.format(state=state, content=content))
    with pytest.raises(AssertionError, match="page blanche"):
        no_error(page, timeout=1_000)


def test_settle_waits_for_what_the_action_draws(page):
    drawn = BLANK.format(state="CONNECTED", content="<div data-testid='stElementContainer'><p>Carte</p></div>")
    page.set_content(drawn)
    settle(page)  # idle and drawn
    no_error(page)
    with pytest.raises(AssertionError, match="to be visible"):  # idle, but what the action draws is not there
        settle(page, page.get_by_text("Annuaire"), timeout=1_000)


def test_a_process_a_clone_starts_runs_that_clones_code(tmp_path):
    """The virtual environment may install ``reseaux`` as a link to another clone (the one that
    made it): a server or a saver this clone starts must still run this clone's code."""
    other = tmp_path / "autre_clone" / "src" / "reseaux"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("", encoding="utf-8")
    env = {"PYTHONPATH": clone_path() + os.pathsep + str(other.parent), "PATH": os.environ.get("PATH", "")}
    ran = subprocess.run(
        [sys.executable, "-c", "import reseaux; print(reseaux.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(ran).is_relative_to(ROOT / "src"), ran
