"""Browser journeys: a coordinator types a wrong phone number in a fiche; the message is under the
field (reached with the keyboard, visible on a phone's screen), nothing is pending; corrected,
the change is saved through the store and the journal names her. And a fiche renamed and saved is
found on the map at the next page."""

from __future__ import annotations

import csv
import json

import pytest
from playwright.sync_api import expect

from tests import browser as helpers
from tests.conftest import SCREENSHOTS
from tests.test_journey_coordinator import open_fiche

pytestmark = pytest.mark.browser

#: A fiche of the demo directory; the test reads its phone from the file first.
ACTOR = "demo-002"
WRONG, RIGHT = "12", "0262 20 00 00"

#: The alert drawn right after the element that holds the field labelled ``label`` (its next
#: sibling in the page's order: what a screen reader reads after the field), or null.
_ALERT_AFTER = """(label) => {
  const input = [...document.querySelectorAll('input')].find(i => i.getAttribute('aria-label') === label);
  const holder = input && input.closest("[data-testid='stElementContainer']");
  const next = holder && holder.nextElementSibling;
  const alert = next && next.querySelector("[role='alert']");
  return alert ? alert.innerText.trim() : null;
}"""


def test_a_wrong_phone_is_said_under_its_field_and_the_right_one_is_saved(browser, tmp_path):
    SCREENSHOTS.mkdir(exist_ok=True)
    folder, env = helpers.data_folder(tmp_path)
    with open(folder / "actors.csv", encoding="utf-8") as handle:
        before = {row["id"]: row for row in csv.DictReader(handle)}
    assert before[ACTOR]["telephone"] not in (WRONG, RIGHT)
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="fr-FR")
    page = context.new_page()
    try:
        with helpers.LoggedApp(env) as app:
            helpers.open_annuaire(page, app, "coord")
            page.get_by_text("Aucune modification en attente").wait_for()
            open_fiche(page, ACTOR)
            page.get_by_role("heading", name=f"Fiche « {before[ACTOR]['nom']} »").wait_for()
            untouched = helpers.fingerprint(folder)

            phone = page.get_by_label("Téléphone", exact=True)
            phone.fill(WRONG)
            page.get_by_role("button", name="Valider la fiche").click()
            message = page.get_by_role("alert").filter(has_text=f"« {WRONG} » n'est pas un numéro de téléphone")
            expect(message).to_be_visible()
            expect(message).to_contain_text("ex. 02 35 00 00 00")
            expect(
                page.get_by_role("alert").filter(has_text="La fiche n'est pas validée : 1 champ à corriger (Téléphone)")
            ).to_be_visible()
            # Under the field: the next thing after it in the page, and drawn below it.
            assert page.evaluate(_ALERT_AFTER, "Téléphone").startswith(f"« {WRONG} » n'est pas un numéro")
            field_box, message_box = phone.bounding_box(), message.bounding_box()
            assert 0 <= message_box["y"] - (field_box["y"] + field_box["height"]) < 80
            assert abs(message_box["x"] - field_box["x"]) < 40
            # Nothing pending, nothing written; the field keeps what was typed.
            expect(page.get_by_text("Aucune modification en attente")).to_be_visible()
            expect(phone).to_have_value(WRONG)
            assert helpers.fingerprint(folder) == untouched
            helpers.no_error(page)
            phone.scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOTS / "fiche-erreur-1440.png"))

            # The keyboard alone reaches the field: Tab from the search box, field after field.
            page.get_by_label("Rechercher une fiche").focus()
            for _ in range(120):
                page.keyboard.press("Tab")
                if page.evaluate("() => document.activeElement.getAttribute('aria-label')") == "Téléphone":
                    break
            expect(phone).to_be_focused()

            # On a phone's screen the message is under the field, within the screen.
            page.set_viewport_size({"width": 390, "height": 844})
            phone.scroll_into_view_if_needed()
            expect(message).to_be_in_viewport()
            field_box, message_box = phone.bounding_box(), message.bounding_box()
            assert message_box["y"] > field_box["y"] and message_box["x"] + message_box["width"] <= 390
            page.screenshot(path=str(SCREENSHOTS / "fiche-erreur-390.png"))
            page.set_viewport_size({"width": 1440, "height": 900})

            # Corrected: the change goes through, then is saved in her name.
            phone.fill(RIGHT)
            page.get_by_role("button", name="Valider la fiche").click()
            expect(page.get_by_text("1 modification en attente")).to_be_visible()
            expect(message).to_have_count(0)
            page.get_by_role("button", name="Enregistrer", exact=True).click()
            expect(page.get_by_text("notée au journal au nom de coord")).to_be_visible()
            helpers.no_error(page)
    finally:
        context.close()
    with open(folder / "actors.csv", encoding="utf-8") as handle:
        after = {row["id"]: row for row in csv.DictReader(handle)}
    assert after[ACTOR]["telephone"] == RIGHT
    assert {k: v for k, v in after.items() if k != ACTOR} == {k: v for k, v in before.items() if k != ACTOR}
    journal = [json.loads(line) for line in (folder / "journal.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(journal) == 1 and journal[0]["qui"] == "coord" and journal[0]["id"] == ACTOR
    assert journal[0]["champs"]["telephone"] == [before[ACTOR]["telephone"], RIGHT]


#: The label of the field holding the focused element (null outside a field).
_FOCUSED_FIELD = """() => {
  const holder = document.activeElement && document.activeElement.closest("[data-testid='stElementContainer']");
  const label = holder && holder.querySelector("label");
  return label ? label.innerText.trim() : null;
}"""

#: Where each field of the form is drawn, by its label (read at once: the page scrolls as Tab moves).
_FIELD_BOXES = """() => Object.fromEntries([...document.querySelectorAll("[data-testid='stForm'] "
  + "[data-testid='stElementContainer']")].filter(h => h.querySelector("label")).map(h => {
    const box = h.getBoundingClientRect();
    return [h.querySelector("label").innerText.trim(), [Math.round(box.top), Math.round(box.left)]];
  }))"""


def test_the_fiche_form_is_tabbed_through_as_it_is_read(browser, tmp_path):
    """Tab goes through the form's fields row by row, left then right, as a person reads them
    (it went down the left column, then up to the right one)."""
    _folder, env = helpers.data_folder(tmp_path)
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="fr-FR")
    page = context.new_page()
    try:
        with helpers.LoggedApp(env) as app:
            helpers.open_annuaire(page, app, "coord")
            page.get_by_role("button", name="Nouvelle fiche").focus()
            page.keyboard.press("Enter")
            expect(page.get_by_role("heading", name="Nouvelle fiche")).to_be_visible()
            helpers.settle(page)
            page.get_by_role("button", name="Nouvelle fiche").focus()
            labels: list[str] = []
            for _ in range(200):
                page.keyboard.press("Tab")
                if page.evaluate("() => document.activeElement.innerText") == "Valider la fiche":
                    break
                label = page.evaluate(_FOCUSED_FIELD)
                if label and (not labels or labels[-1] != label):
                    labels.append(label)
            expect(page.get_by_role("button", name="Valider la fiche")).to_be_focused()
            boxes = page.evaluate(_FIELD_BOXES)
            helpers.no_error(page)
    finally:
        context.close()
    assert len(labels) == len(set(labels)) == len(boxes) >= 20, (labels, list(boxes))  # every field, once
    assert labels == sorted(boxes, key=lambda label: boxes[label]), boxes  # top to bottom, left to right
    # Two fields a row: the second stands right of the first, the third under them.
    (top0, left0), (top1, left1), (top2, _) = (boxes[label] for label in labels[:3])
    assert top0 == top1 < top2 and left0 < left1


def test_a_fiche_renamed_and_saved_is_found_on_the_map_at_the_next_page(browser, tmp_path):
    """The map read the directory first; a coordinator renames a fiche and saves it; back on the
    map, the new name is found by the sidebar's search (the map read the new version, taking its
    unchanged rows back from the one it held: tests/test_reread.py checks that reading)."""
    folder, env = helpers.data_folder(tmp_path)
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="fr-FR")
    page = context.new_page()
    try:
        with helpers.LoggedApp(env) as app:
            page.goto(app.url + "/")
            helpers.settle(page)
            helpers.sign_in(page, "coord")
            expect(page.get_by_text("acteurs sur").first).to_be_visible(timeout=60_000)
            helpers.open_nav_page(page, "Annuaire")
            page.get_by_text("Aucune modification en attente").wait_for()
            open_fiche(page, ACTOR)
            page.get_by_label("Nom", exact=True).fill("Centre Zéphyrin (fictif)")
            page.get_by_role("button", name="Valider la fiche").click()
            expect(page.get_by_text("1 modification en attente")).to_be_visible()
            page.get_by_role("button", name="Enregistrer", exact=True).click()
            expect(page.get_by_text("notée au journal au nom de coord")).to_be_visible()

            helpers.open_nav_page(page, "Carte du réseau")
            search = page.get_by_label("Recherche (nom, structure, spécialités, description)")
            search.fill("zephyrin")
            search.press("Enter")
            expect(page.get_by_text("1 acteur sur", exact=False).first).to_be_visible(timeout=60_000)
            helpers.no_error(page)
    finally:
        context.close()
    with open(folder / "actors.csv", encoding="utf-8") as handle:
        assert {row["id"]: row["nom"] for row in csv.DictReader(handle)}[ACTOR] == "Centre Zéphyrin (fictif)"
