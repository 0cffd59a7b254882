"""Browser journey: a coordinator reads « Qualité de l'annuaire » on a directory whose warnings
outnumber ``validation.COMPACT_ISSUES`` — the warnings a reading makes again at its end (see
``validation._compacted``) — and finds each unknown value counted as the file counts it."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from reseaux.acces.accounts import AccountStore
from reseaux.annuaire import validation
from tests.browser import no_error, open_nav_page, settle, sign_in, type_in
from tests.conftest import PASSWORD, SCREENSHOTS, ServedApp

pytestmark = pytest.mark.browser

UNKNOWN = ("Thème inconnu A (fictif)", "Thème inconnu B (fictif)")


def directory_text(n: int) -> str:
    """``n`` fictional structures in Rouen; one in three has the first unknown theme, one in three
    the second, the others « IVG »."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "nom", "type", "thematiques", "commune", "code_insee", "latitude", "longitude", "fictif"])
    for i in range(n):
        theme = UNKNOWN[i % 3] if i % 3 < 2 else "IVG"
        writer.writerow(
            [f"q{i}", f"Structure {i} (fictive)", "structure", theme, "Rouen", "76540", 49.43 + i / 1e5, 1.08, "oui"]
        )
    return out.getvalue()


def test_a_coordinator_reads_the_unknown_values_of_a_large_directory_counted_as_the_file_counts_them(browser, tmp_path):
    text = directory_text(1_800)
    rows = list(csv.DictReader(io.StringIO(text)))
    counted = {value: sum(row["thematiques"] == value for row in rows) for value in UNKNOWN}  # the file's own count
    assert sum(counted.values()) > validation.COMPACT_ISSUES  # the warnings made again at the end of the reading
    actors = tmp_path / "actors.csv"
    actors.write_text(text, encoding="utf-8")
    AccountStore(tmp_path / "comptes.json").add("coord", PASSWORD, "coordinateur")
    env = {"RESEAUX_ACTORS": str(actors), "RESEAUX_ACCOUNTS": str(tmp_path / "comptes.json")}
    with ServedApp(env) as app:
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="fr-FR")
        page.goto(app.url + "/")
        settle(page)
        sign_in(page, "coord")
        open_nav_page(page, "Qualité de l'annuaire")
        expect(page.get_by_test_id("stMetric").filter(has_text="Acteurs chargés")).to_contain_text("1 800")
        # One warning a row of an unknown theme, and the file's missing columns (line 1).
        warnings = f"{sum(counted.values()) + 1:_}".replace("_", " ")
        expect(page.get_by_test_id("stMetric").filter(has_text="Avertissements")).to_contain_text(warnings)
        type_in(page, "Valeur à recoder", "")
        for value, n in counted.items():
            expect(page.get_by_role("option", name=f"Thématiques : « {value} » ({n})")).to_have_count(1)
        page.keyboard.press("Escape")
        no_error(page)
        page.screenshot(path=str(SCREENSHOTS / "qualite_avertissements.png"), full_page=True)
        page.close()
