"""rebase and resolve on tables of two or three fiches: every conflict comes back with its three
values, nothing of either side is dropped without a word."""

import numpy as np
import pandas as pd
from pandas.testing import assert_frame_equal

from reseaux.annuaire.concurrent_edits import Conflict, rebase, resolve

BASE = pd.DataFrame(
    {"id": ["a", "b"], "nom": ["Alpha", "Bêta"], "telephone": ["01", "02"], "email": ["a@x.org", ""]}, dtype=object
)


def edit(table, actor_id, **values):
    out = table.copy()
    for column, value in values.items():
        out.loc[out["id"] == actor_id, column] = value
    return out


def cell(table, actor_id, column):
    return table.set_index("id").loc[actor_id, column]


def test_a_field_changed_on_both_sides_is_a_structured_conflict_and_theirs_stays():
    merged, conflicts = rebase(BASE, edit(BASE, "a", telephone="mine"), edit(BASE, "a", telephone="theirs"))
    assert conflicts == [Conflict("a", "Alpha", "telephone", mine="mine", theirs="theirs", base="01")]
    assert cell(merged, "a", "telephone") == "theirs"


def test_changes_that_do_not_meet_are_all_applied():
    mine = edit(BASE, "a", telephone="mine", email="a@mine.org")
    theirs = edit(edit(BASE, "a", nom="Alpha (renommé)"), "b", telephone="theirs")
    merged, conflicts = rebase(BASE, mine, theirs)
    assert conflicts == []
    assert [cell(merged, "a", c) for c in ("nom", "telephone", "email")] == ["Alpha (renommé)", "mine", "a@mine.org"]
    assert cell(merged, "b", "telephone") == "theirs"


def test_the_same_value_on_both_sides_is_no_conflict():
    merged, conflicts = rebase(BASE, edit(BASE, "a", telephone="same"), edit(BASE, "a", telephone="same"))
    assert conflicts == [] and cell(merged, "a", "telephone") == "same"


def test_emptying_a_cell_they_changed_is_a_conflict_not_a_silent_keep():
    _merged, conflicts = rebase(BASE, edit(BASE, "a", email=""), edit(BASE, "a", email="a@theirs.org"))
    assert conflicts == [Conflict("a", "Alpha", "email", mine="", theirs="a@theirs.org", base="a@x.org")]


def test_a_missing_value_reads_as_empty_on_every_side():
    """NaN or None in a working copy is the empty cell of the file: no change, so no conflict."""
    mine = edit(BASE, "b", email=np.nan)
    mine.loc[mine["id"] == "a", "telephone"] = "mine"
    theirs = edit(BASE, "b", email=None)
    merged, conflicts = rebase(BASE, mine, theirs)
    assert conflicts == []
    assert cell(merged, "b", "email") == "" and cell(merged, "a", "telephone") == "mine"


def test_a_column_only_one_side_has_is_kept_and_filled_where_mine_sets_it():
    mine = BASE.assign(horaires=["lun-ven", ""])
    theirs = BASE.assign(site_web=["", "https://b.example.org"])
    merged, conflicts = rebase(BASE, mine, theirs)
    assert conflicts == []
    assert list(merged.columns) == ["id", "nom", "telephone", "email", "site_web", "horaires"]
    assert cell(merged, "a", "horaires") == "lun-ven" and cell(merged, "b", "site_web") == "https://b.example.org"
    assert cell(merged, "b", "horaires") == ""


def test_a_changed_cell_of_a_column_they_removed_is_a_conflict():
    _merged, conflicts = rebase(BASE, edit(BASE, "a", email="a@mine.org"), BASE.drop(columns="email"))
    assert conflicts == [Conflict("a", "Alpha", "email", mine="a@mine.org", theirs="", base="a@x.org")]


#: Fiche c added on both sides (differently), a modified by me and deleted by them, b the other way.
ADDED = {"id": "c", "nom": "Gamma", "telephone": "03", "email": ""}


def whole_fiche_replay():
    mine = pd.concat([edit(BASE, "a", telephone="mine")[lambda t: t["id"] != "b"], pd.DataFrame([ADDED])])
    theirs = pd.concat(
        [edit(BASE, "b", telephone="theirs")[lambda t: t["id"] != "a"], pd.DataFrame([{**ADDED, "telephone": "33"}])]
    )
    return rebase(BASE, mine, theirs)


def test_whole_fiche_conflicts_carry_the_records():
    added = ADDED
    merged, conflicts = whole_fiche_replay()
    record = {"id": "a", "nom": "Alpha", "telephone": "01", "email": "a@x.org"}
    assert conflicts == [
        Conflict("a", "Alpha", "", mine={**record, "telephone": "mine"}, theirs=None, base=record),
        Conflict("c", "Gamma", "", mine=added, theirs={**added, "telephone": "33"}, base=None),
        Conflict(
            "b",
            "Bêta",
            "",
            mine=None,
            theirs={"id": "b", "nom": "Bêta", "telephone": "theirs", "email": ""},
            base={"id": "b", "nom": "Bêta", "telephone": "02", "email": ""},
        ),
    ]
    assert list(merged["id"]) == ["b", "c"] and cell(merged, "c", "telephone") == "33"  # theirs, until chosen


def test_a_fiche_added_the_same_on_both_sides_is_no_conflict():
    added = pd.DataFrame([{"id": "c", "nom": "Gamma", "telephone": "03", "email": ""}])
    merged, conflicts = rebase(BASE, pd.concat([BASE, added]), pd.concat([BASE, added]))
    assert conflicts == [] and list(merged["id"]) == ["a", "b", "c"]


def test_resolve_applies_mine_or_theirs_and_can_go_back():
    merged, conflicts = rebase(BASE, edit(BASE, "a", telephone="mine"), edit(BASE, "a", telephone="theirs"))
    kept_mine = resolve(merged, [(conflicts[0], True)])
    assert cell(kept_mine, "a", "telephone") == "mine"
    assert cell(merged, "a", "telephone") == "theirs"  # a new table: the replay's result is left as it is
    assert_frame_equal(resolve(kept_mine, [(conflicts[0], False)]), merged)


def test_resolve_whole_fiches():
    merged, conflicts = whole_fiche_replay()
    all_mine = resolve(merged, [(c, True) for c in conflicts])
    assert list(all_mine["id"]) == ["c", "a"]  # b deleted as I did, a recreated at the end
    assert cell(all_mine, "a", "telephone") == "mine" and cell(all_mine, "c", "telephone") == "03"
    assert_frame_equal(resolve(merged, [(c, False) for c in conflicts]), merged)


def test_resolve_puts_text_in_a_number_column():
    merged, _conflicts = rebase(BASE, edit(BASE, "a", telephone="mine"), edit(BASE, "a", telephone="theirs"))
    numbers = merged.assign(latitude=[49.4, 49.5])
    out = resolve(numbers, [(Conflict("b", "Bêta", "latitude", "49.6", "49.5", "49.5"), True)])
    assert out["latitude"].tolist() == [49.4, "49.6"]
