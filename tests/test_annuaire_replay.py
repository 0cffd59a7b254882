"""AppTest of « Rejouer mes modifications » when the replay meets a newer value:
both values are shown, the coordinator chooses, the file ends with the chosen one."""

import pytest

from reseaux.annuaire.store import DirectoryStore
from tests.test_annuaire_page import button, page

MINE = "02 61 91 00 77"  # typed by the coordinator
THEIRS = "02 61 91 00 88"  # saved meanwhile by Alice
MY_EMAIL = "accueil@elan.example.org"


def everything_said(at) -> str:
    return " ".join(
        e.value for kind in (at.markdown, at.caption, at.warning, at.error, at.info, at.success) for e in kind
    )


def choices(at):
    return [r for r in at.radio if str(r.key).startswith("ann_replay_")]


def replayed_after_a_conflict(monkeypatch, tmp_path, **mine):
    """The coordinator edits t2 (Centre Santé Élan, whose form changes nothing else) with ``mine``;
    Alice saves another telephone for t2 meanwhile; the coordinator's save is refused and replayed."""
    at, path = page(monkeypatch, tmp_path)
    at.session_state["ann_edit"] = "t2"
    at.run()
    for column, value in mine.items():
        at.text_input(key=f"ann_f_{column}").input(value)
    at.button(key="FormSubmitter:ann_form_t2-Valider la fiche").click().run()
    store = DirectoryStore(path)
    alice = store.load()
    table = alice.table.copy()
    table.loc[table["id"] == "t2", "telephone"] = THEIRS
    store.save(table, alice, who="Alice")
    button(at, "Enregistrer").click().run()
    assert any("enregistré par quelqu'un d'autre" in e.value for e in at.error)
    button(at, "Rejouer mes modifications sur la nouvelle version").click().run()
    assert not at.exception
    return at, path


def on_disk(path, column: str) -> str:
    return DirectoryStore(path).load().table.set_index("id").loc["t2", column]


def test_a_replay_whose_only_change_conflicts_shows_both_values_and_keeps_mine_when_asked(monkeypatch, tmp_path):
    at, path = replayed_after_a_conflict(monkeypatch, tmp_path, telephone=MINE)
    said = everything_said(at)
    assert "Aucune modification en attente" not in said  # a conflict waits: it is not « nothing »
    assert "Centre Santé Élan" in said and "Téléphone" in said  # the fiche by its name, the column by its label
    assert "votre valeur" in said and MINE in said
    assert "valeur de l'autre personne" in said and THEIRS in said
    [choice] = choices(at)
    assert list(choice.options) == ["garder la mienne", "garder la sienne"] and choice.value is None
    assert on_disk(path, "telephone") == THEIRS  # nothing written before a choice and « Enregistrer »

    choice.set_value("garder la mienne").run()
    assert any("1 modification en attente" in m.value for m in at.markdown)
    button(at, "Enregistrer").click().run()
    assert not at.exception
    assert on_disk(path, "telephone") == MINE
    assert not choices(at)  # settled and saved: the conflict is gone
    assert DirectoryStore(path).read_journal()[-1]["champs"]["telephone"] == [THEIRS, MINE]


def test_keeping_theirs_saves_my_other_changes_and_leaves_their_value(monkeypatch, tmp_path):
    at, path = replayed_after_a_conflict(monkeypatch, tmp_path, telephone=MINE, email=MY_EMAIL)
    said = everything_said(at)
    assert MINE in said and THEIRS in said
    assert button(at, "Enregistrer").disabled  # a conflict waits for a decision
    [choice] = choices(at)
    choice.set_value("garder la sienne").run()
    assert not button(at, "Enregistrer").disabled
    button(at, "Enregistrer").click().run()
    assert not at.exception
    assert on_disk(path, "telephone") == THEIRS
    assert on_disk(path, "email") == MY_EMAIL


def test_keeping_theirs_when_nothing_else_was_changed_says_so(monkeypatch, tmp_path):
    at, path = replayed_after_a_conflict(monkeypatch, tmp_path, telephone=MINE)
    choices(at)[0].set_value("garder la sienne").run()
    assert not at.exception
    said = everything_said(at)
    assert "valeur de l'autre personne" in said  # the decision stays in view until closed
    button(at, "Terminer").click().run()
    assert not choices(at)
    assert "Aucune modification en attente" in everything_said(at)
    assert on_disk(path, "telephone") == THEIRS


@pytest.mark.parametrize("keep", ["garder la mienne", "garder la sienne"])
def test_a_choice_survives_a_rerun_and_can_be_changed(monkeypatch, tmp_path, keep):
    at, _path = replayed_after_a_conflict(monkeypatch, tmp_path, telephone=MINE)
    choices(at)[0].set_value(keep).run()
    at.run()
    assert choices(at)[0].value == keep
    other = "garder la sienne" if keep == "garder la mienne" else "garder la mienne"
    choices(at)[0].set_value(other).run()
    pending = any("1 modification en attente" in m.value for m in at.markdown)
    assert pending == (other == "garder la mienne")


def test_a_conflict_waiting_for_a_choice_survives_another_save_on_disk(monkeypatch, tmp_path):
    """With nothing else pending, the page follows a file changed on disk: not while a conflict waits."""
    at, path = replayed_after_a_conflict(monkeypatch, tmp_path, telephone=MINE)
    store = DirectoryStore(path)
    alice = store.load()
    store.save(
        alice.table.assign(commune=alice.table["commune"].where(alice.table["id"] != "t3", "Darnétal")),
        alice,
        who="Alice",
    )
    at.run()
    said = everything_said(at)
    assert MINE in said and THEIRS in said and "Aucune modification en attente" not in said
    choices(at)[0].set_value("garder la mienne").run()
    button(at, "Enregistrer").click().run()  # refused: the file changed again; replayed without conflict
    button(at, "Rejouer mes modifications sur la nouvelle version").click().run()
    button(at, "Enregistrer").click().run()
    assert not at.exception
    assert on_disk(path, "telephone") == MINE
    assert DirectoryStore(path).load().table.set_index("id").loc["t3", "commune"] == "Darnétal"
