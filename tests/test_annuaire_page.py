"""AppTest of the « Annuaire » page: add a fiche through the form, save, conflicts."""

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from reseaux.acces.accounts import AccountStore
from reseaux.annuaire.store import DirectoryStore
from tests.conftest import DATA, PASSWORD, ROOT, sign_in


def page(monkeypatch, tmp_path, data: bytes | None = None):
    """A coordinator signed in on the Annuaire page of a directory file of ``data`` (a copy of
    actors_small.csv by default): the AppTest and the file."""
    path = tmp_path / "actors.csv"
    path.write_bytes(data if data is not None else (DATA / "actors_small.csv").read_bytes())
    monkeypatch.setenv("RESEAUX_ACTORS", str(path))
    AccountStore(tmp_path / "comptes.json").add("coord", PASSWORD, "coordinateur")
    monkeypatch.setenv("RESEAUX_ACCOUNTS", str(tmp_path / "comptes.json"))
    at = sign_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run(), "coord")
    at.switch_page("views/annuaire.py").run()
    assert not at.exception
    return at, path


@pytest.fixture()
def annuaire(monkeypatch, tmp_path):
    """A coordinator on the Annuaire page of a copy of actors_small.csv: the AppTest and the file."""
    return page(monkeypatch, tmp_path)


def edit(at, actor_id: str) -> None:
    """Open ``actor_id``'s fiche in the form, as a click on its row does."""
    at.session_state["ann_edit"] = actor_id
    at.run()
    assert not at.exception


def button(at, label):
    return next(b for b in at.button if b.label == label)


def fill_new_fiche(at, **values):
    button(at, "Nouvelle fiche").click().run()
    for column, value in values.items():
        if column == "type":
            at.selectbox(key="ann_f_type").set_value(value)
        elif column == "thematiques":
            at.multiselect(key="ann_f_thematiques").set_value(value)
        else:
            at.text_input(key=f"ann_f_{column}").input(value)
    at.button(key="FormSubmitter:ann_form_None-Valider la fiche").click().run()


def test_form_refuses_an_invalid_fiche_with_messages_by_the_field(monkeypatch, tmp_path):
    at, path = page(monkeypatch, tmp_path)
    before = path.read_bytes()
    fill_new_fiche(at, id="t1", nom="Doublon", type="structure")  # and nothing to place it by
    messages = " ".join(m.value for m in at.error)  # error boxes, each under its field
    assert "déjà utilisé" in messages and "rien pour placer l'acteur" in messages
    assert path.read_bytes() == before  # nothing written


def test_a_value_of_the_wrong_format_is_refused_under_its_field_and_nothing_is_pending(monkeypatch, tmp_path):
    """Testers: the form kept phone « 12 », e-mail « pas-un-courriel », postcode « 7600 » as a
    pending change. Each is now an error under its field, the fiche is not changed, what was typed
    stays in the form; corrected, the change goes through."""
    at, path = page(monkeypatch, tmp_path)
    before = path.read_bytes()
    at.session_state["ann_edit"] = "t2"
    at.run()
    base = at.session_state["ann_work"]
    typed = {
        "nom": "Centre Santé Élan (renommé, fictif)",
        "telephone": "12",
        "email": "pas-un-courriel",
        "code_postal": "7600",
        "site_web": "pas un site",
    }
    for column, value in typed.items():
        at.text_input(key=f"ann_f_{column}").input(value)
    at.button(key="FormSubmitter:ann_form_t2-Valider la fiche").click().run()
    assert not at.exception
    errors = [e.value.replace("\\", "") for e in at.error]  # markdown source, escaped
    for written in ("12", "pas-un-courriel", "7600", "pas un site"):
        assert any(e.startswith(f"« {written} » n") for e in errors), (written, errors)
    assert any(e.startswith("La fiche n'est pas validée : 4 champs à corriger") for e in errors)
    assert at.session_state["ann_work"] is base  # no pending change
    assert any("Aucune modification en attente" in c.value for c in at.caption)
    for column, value in typed.items():  # nothing typed is lost
        assert at.text_input(key=f"ann_f_{column}").value == value
    fixed = {
        "telephone": "0262 20 00 00",
        "email": "accueil@elan.example.org",
        "code_postal": "76120",
        "site_web": "elan.example.org",
    }
    for column, value in fixed.items():
        at.text_input(key=f"ann_f_{column}").input(value)
    at.button(key="FormSubmitter:ann_form_t2-Valider la fiche").click().run()
    assert not at.exception and not at.error
    assert any("1 modification en attente" in m.value for m in at.markdown)
    assert path.read_bytes() == before  # pending, not written before « Enregistrer »
    button(at, "Enregistrer").click().run()
    row = DirectoryStore(path).load().table.set_index("id").loc["t2"]
    assert row["nom"] == typed["nom"] and row["telephone"] == "0262 20 00 00"
    assert row["email"] == "accueil@elan.example.org" and row["code_postal"] == "76120"
    assert row["site_web"] == "https://elan.example.org"  # a bare domain, written as the file's rule writes it
    assert DirectoryStore(path).read_journal()[-1]["qui"] == "coord"


def test_add_a_fiche_then_save_writes_the_file_and_the_journal(monkeypatch, tmp_path):
    at, path = page(monkeypatch, tmp_path)
    fill_new_fiche(
        at,
        id="t4",
        nom="Nouvelle Sage-Femme (fictive)",
        type="professionnel",
        thematiques=["ivg"],
        code_postal="76000",
        commune="Rouen",
    )
    assert any("1 modification en attente" in m.value for m in at.markdown)
    button(at, "Enregistrer").click().run()
    assert not at.exception
    text = path.read_text(encoding="utf-8")
    assert "Nouvelle Sage-Femme (fictive)" in text
    store = DirectoryStore(path)
    assert store.read_journal()[-1]["qui"] == "coord"  # the signed-in account, not a typed name
    assert len(store.list_backups()) == 1


def test_a_save_after_someone_else_saved_is_refused_and_can_be_replayed(monkeypatch, tmp_path):
    at, path = page(monkeypatch, tmp_path)
    fill_new_fiche(at, id="t4", nom="Ajout de Bob (fictif)", type="structure", commune="Rouen")
    # Meanwhile, Alice saves from another session.
    store = DirectoryStore(path)
    alice = store.load()
    table = alice.table.copy()
    table.loc[table["id"] == "t1", "telephone"] = "02 61 91 00 99"
    store.save(table, alice, who="Alice")
    button(at, "Enregistrer").click().run()
    assert any("enregistré par quelqu'un d'autre" in e.value for e in at.error)
    assert "Ajout de Bob" not in path.read_text(encoding="utf-8")
    button(at, "Rejouer mes modifications sur la nouvelle version").click().run()
    button(at, "Enregistrer").click().run()
    text = path.read_text(encoding="utf-8")
    assert "Ajout de Bob (fictif)" in text and "02 61 91 00 99" in text  # both changes kept


def test_stale_tab_lists_old_fiches(monkeypatch, tmp_path):
    at, _ = page(monkeypatch, tmp_path)
    # t2 (2024-06-01) and t3 (2025-03-10) are more than a year old in November 2026.
    assert any("2 fiches non mises à jour depuis plus de 365 jours" in m.value for m in at.markdown)


def test_editing_a_fiche_keeps_a_value_outside_the_referential(annuaire):
    """A theme the referential does not know is kept as written when the file is read; opening the
    fiche and validating it unchanged must not drop it (the form offers it as it is)."""
    at, path = annuaire
    text = path.read_text(encoding="utf-8").replace("IVG|contraception", "IVG|Ateliers bien-être", 1)
    path.write_text(text, encoding="utf-8")
    at.run()
    edit(at, "t1")
    chosen = at.multiselect(key="ann_f_thematiques").value
    assert "Ateliers bien-être" in chosen and "ivg" in chosen
    at.text_input(key="ann_f_telephone").input("02 61 91 00 99")
    at.button(key="FormSubmitter:ann_form_t1-Valider la fiche").click().run()
    button(at, "Enregistrer").click().run()
    assert not at.exception
    row = next(line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("t1,"))
    assert "Ateliers bien-être" in row and "02 61 91 00 99" in row


def test_an_unreadable_directory_keeps_the_map_up_and_the_backups_within_reach(monkeypatch, tmp_path):
    """actors.csv broken on disk (here: binary junk after a good save): the map keeps showing the
    last version it could read, with a banner; the Annuaire page says why and restores a backup,
    keeping the unreadable file among the backups."""
    at, path = page(monkeypatch, tmp_path)
    fill_new_fiche(
        at, id="t4", nom="Nouvelle Structure (fictive)", type="structure", code_postal="76000", commune="Rouen"
    )
    button(at, "Enregistrer").click().run()  # a good save: a backup exists
    at.switch_page("views/carte.py").run()
    assert not at.exception
    path.write_bytes(b"\x00\x01\x02" * 1000)  # broken by hand
    at.switch_page("views/carte.py").run()
    assert not at.exception
    assert any("illisible" in w.value for w in at.warning)  # the last readable version, said so
    assert any("acteurs sur" in m.value for m in at.markdown)
    at.switch_page("views/annuaire.py").run()
    assert not at.exception and any("ne peut pas être lu" in e.value for e in at.error)
    at.button(key="ann_rescue_go").click().run()
    assert not at.exception
    assert b"Centre" in path.read_bytes() or b"Camille" in path.read_bytes()  # a readable version again
    store = DirectoryStore(path)
    assert any(b.read_bytes().startswith(b"\x00\x01\x02") for b in store.list_backups())  # nothing lost
    assert "fichier illisible" in store.read_journal()[-1]["action"]


def test_opening_another_fiche_shows_its_own_values_and_validating_it_changes_only_it(monkeypatch, tmp_path):
    """Streamlit keeps a keyed field's value when its default changes: the form of t2 opened after
    t1 showed t1's name and id, and « Valider la fiche » wrote them onto t2."""
    at, path = page(monkeypatch, tmp_path)
    table = DirectoryStore(path).load().table.set_index("id")
    at.session_state["ann_edit"] = "t1"
    at.run()
    assert at.text_input(key="ann_f_nom").value == table.loc["t1", "nom"]
    at.session_state["ann_edit"] = "t2"
    at.run()
    assert at.text_input(key="ann_f_nom").value == table.loc["t2", "nom"] != table.loc["t1", "nom"]
    assert at.text_input(key="ann_f_id").value == "t2"
    button(at, "Nouvelle fiche").click().run()
    assert at.text_input(key="ann_f_nom").value == at.text_input(key="ann_f_id").value == ""
    at.session_state["ann_edit"] = "t2"
    at.run()
    at.text_input(key="ann_f_telephone").input("02 61 91 00 98")
    at.button(key="FormSubmitter:ann_form_t2-Valider la fiche").click().run()
    work = at.session_state["ann_work"].set_index("id")
    assert work.loc["t2", "telephone"] == "02 61 91 00 98" and work.loc["t2", "nom"] == table.loc["t2", "nom"]
    assert work.loc["t1"].to_dict() == table.loc["t1"].to_dict()


def test_a_large_directory_draws_a_thousand_rows_and_search_and_errors_reach_the_others(monkeypatch, tmp_path):
    """200,000 fiches made every click take minutes. The table draws its first 1,000
    rows and says so; the search and the « en erreur » switch look through every fiche."""
    import csv
    import io

    at_rows = list(csv.DictReader(io.StringIO((DATA / "actors_small.csv").read_text(encoding="utf-8"))))
    model = next(r for r in at_rows if r["id"] == "t2")
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(model))
        writer.writeheader()
        for i in range(2500):
            writer.writerow({**model, "id": f"b{i:04d}", "nom": "" if i == 2400 else f"Centre Banc {i} (fictif)"})
    at, _ = page(monkeypatch, tmp_path)
    monkeypatch.setenv("RESEAUX_ACTORS", str(path))
    del at.session_state["ann_base"]  # as after a reload: the page reads the large file
    at.run()
    assert not at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "Les 1\u202f000 premières fiches sur 2\u202f500" in captions
    assert len(at.dataframe[0].value) == 1000
    at.text_input(key="ann_search").input("banc 1999 (").run()  # beyond the first thousand
    assert at.dataframe[0].value["Nom"].tolist() == ["Centre Banc 1999 (fictif)"]
    at.text_input(key="ann_search").input("").run()
    switch = next(t for t in at.toggle if t.key == "ann_only_bad")
    assert switch.label == "Seulement les fiches en erreur (1)"
    switch.set_value(True).run()
    assert at.dataframe[0].value["Identifiant"].tolist() == ["b2400"]


def test_the_form_shows_languages_and_visibility_as_people_read_them(annuaire):
    """The form showed « français|anglais » and a free « Visibilité » box where one types
    the code « public »; now the languages are chips and the visibility a choice of labels, and
    the file keeps its codes when the fiche is validated with a language added."""
    at, path = annuaire
    edit(at, "t1")
    languages = at.multiselect(key="ann_f_langues")
    assert languages.value == ["français", "anglais"]
    visibility = at.selectbox(key="ann_f_visibilite")
    assert visibility.value == "public"
    assert visibility.options == [
        "Selon le type (personne : membres ; établissement : publique)",
        "Publique (visible sans connexion)",
        "Réservée aux membres",
    ]
    assert not [t for t in at.text_input if t.key in ("ann_f_langues", "ann_f_visibilite")]
    languages.set_value(["français", "anglais", "roumain"])
    visibility.set_value("membres")
    at.button(key="FormSubmitter:ann_form_t1-Valider la fiche").click().run()
    button(at, "Enregistrer").click().run()
    assert not at.exception
    row = next(line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("t1,"))
    assert ",français|anglais|roumain," in row and ",membres," in row


def test_the_quality_page_counts_the_french_way(monkeypatch, tmp_path):
    """« Acteurs chargés » said 1200, where every other count says « 1 200 »."""
    import csv
    import io

    model = next(
        r
        for r in csv.DictReader(io.StringIO((DATA / "actors_small.csv").read_text(encoding="utf-8")))
        if r["id"] == "t2"
    )
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(model))
        writer.writeheader()
        for i in range(1200):
            writer.writerow({**model, "id": f"b{i:04d}", "nom": f"Centre Banc {i} (fictif)"})
    at, _ = page(monkeypatch, tmp_path)
    monkeypatch.setenv("RESEAUX_ACTORS", str(path))
    at.switch_page("views/qualite.py").run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Acteurs chargés"] == "1\u202f200"


def test_two_coordinators_share_the_version_they_read_and_never_each_others_edits(monkeypatch, tmp_path):
    """A version is read once for the sessions of a process (at a million fiches: 0.4 GB and
    seconds each); what one coordinator edits stays in her session until she saves, and the other
    then follows the new version."""
    alice, path = page(monkeypatch, tmp_path)
    bob = sign_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run(), "coord")
    bob.switch_page("views/annuaire.py").run()
    assert not bob.exception
    assert alice.session_state["ann_base"] is bob.session_state["ann_base"]  # one table for both
    assert alice.session_state["ann_kept_check"][3] is bob.session_state["ann_kept_check"][3]  # one check
    for coordinator in (alice, bob):
        coordinator.text_input(key="ann_search").input("rouen").run()
    assert alice.session_state["ann_kept_search"][2] is bob.session_state["ann_kept_search"][2]  # one text
    for coordinator in (alice, bob):
        coordinator.text_input(key="ann_search").input("").run()
    before = bob.session_state["ann_work"].copy()

    fill_new_fiche(alice, id="t4", nom="Ajout d'Alice (fictif)", type="structure", commune="Rouen")
    assert any("1 modification en attente" in m.value for m in alice.markdown)
    bob.run()
    assert any("Aucune modification en attente" in c.value for c in bob.caption)
    pd.testing.assert_frame_equal(bob.session_state["ann_work"], before)  # nothing of Alice's copy
    assert list(bob.session_state["ann_base"].table["id"]) == ["t1", "t2", "t3"]

    button(alice, "Enregistrer").click().run()
    assert "Ajout d'Alice (fictif)" in path.read_text(encoding="utf-8")
    assert alice.session_state["ann_kept_check"][3] is not bob.session_state["ann_kept_check"][3]  # hers, now
    bob.run()  # nothing pending: Bob's page follows the file
    assert "t4" in list(bob.session_state["ann_work"]["id"])
    assert bob.session_state["ann_base"].content_key == DirectoryStore(path).current_content_key()


def test_the_journal_tab_shows_the_last_lines_newest_first_and_counts_them_all(monkeypatch, tmp_path):
    from reseaux.ui.annuaire import saving
    from tests.test_rebase import edit as edited

    path = tmp_path / "actors.csv"
    path.write_bytes((DATA / "actors_small.csv").read_bytes())
    store = DirectoryStore(path)
    base = store.load()
    for who, phone in (("Alice", "02 61 91 00 07"), ("Bob", "02 61 91 00 08"), ("Chloé", "02 61 91 00 09")):
        base = store.save(edited(base.table, "t1", telephone=phone), base, who=who)
    monkeypatch.setattr(saving, "TABLE_ROWS", 2)  # the journal longer than what the tab shows

    def whole_journal(self):
        raise AssertionError("the page parsed the whole journal (a million lines at a million fiches)")

    monkeypatch.setattr(DirectoryStore, "read_journal", whole_journal)
    import reseaux.annuaire.store as files

    counted = []
    monkeypatch.setattr(
        files, "_counted_lines", lambda handle, real=files._counted_lines: counted.append(1) or real(handle)
    )
    at, _ = page(monkeypatch, tmp_path, path.read_bytes())
    assert any("Les 2 dernières lignes sur 3 ; le journal complet est" in c.value for c in at.caption)
    shown = next(d.value for d in at.dataframe if "Qui" in d.value.columns)
    assert shown["Qui"].tolist() == ["Chloé", "Bob"]
    at.run()  # another click: the journal unchanged is not counted again (a store is made at every run)
    assert len(counted) == 1 and any("sur 3" in c.value for c in at.caption)
