"""In the browser: a workbook of millions of empty cells is refused at once,
and a 200,000-row file with thousands of duplicates reaches a review of twenty a page."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.browser import no_error, open_import, settle
from tests.test_browser_annuaire import coordination  # noqa: F401 — the fixture
from tests.test_costly_uploads import _styled_empty_rows, _with_rows
from tests.test_hostile import _xlsx_with

pytestmark = pytest.mark.browser


def test_a_workbook_of_a_million_empty_cells_is_refused_in_seconds(page, coordination, tmp_path):  # noqa: F811 — the fixture
    app, actors = coordination
    before = actors.read_bytes()
    path = tmp_path / "cellules.xlsx"
    path.write_bytes(_xlsx_with(_with_rows(_styled_empty_rows(4_000, 300))))  # 1.2 million cells, 40 KB
    open_import(page, app)
    start = time.monotonic()
    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_text("vides mises en forme comprises").wait_for(timeout=30_000)
    print(f"refused in {time.monotonic() - start:.1f} s")
    settle(page)
    no_error(page)
    assert actors.read_bytes() == before


def test_a_200000_row_file_reaches_a_paged_review_of_its_duplicates(page, coordination, tmp_path):  # noqa: F811 — the fixture
    app, _actors = coordination
    lines = ["nom;adresse;code postal;commune"]
    for i in range(200_000):
        if i % 10 == 0:  # a near copy of a fiche of the directory
            lines.append(
                "EXEMPLE Camille;1 rue Fictive;76000;ROUEN"
                if i % 20
                else "Centre Sante Elan;2 rue Fictive;76120;Le Grand-Quevilly"
            )
        else:
            lines.append(f"Cabinet {i};{i % 90 + 1} avenue Longue;76{i % 900:03d};Bourg {i % 400}")
    path = tmp_path / "grand.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    open_import(page, app)
    start = time.monotonic()
    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_text("200\u202f000 lignes lues").wait_for(timeout=180_000)
    caption = page.get_by_text("Doublons 1 à 20 sur 20\u202f000 (page 1 sur 1\u202f000)")
    caption.wait_for(timeout=180_000)
    print(f"review shown in {time.monotonic() - start:.1f} s")
    settle(page)
    no_error(page)
    expect(page.get_by_text("Que faire ?")).to_have_count(20)
    page.get_by_role("button", name="Page suivante").click()
    expect(page.get_by_text("Doublons 21 à 40 sur 20\u202f000 (page 2 sur 1\u202f000)")).to_have_count(1)
    print(f"next page in {time.monotonic() - start:.1f} s")
