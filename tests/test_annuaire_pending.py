"""AppTest: the Annuaire page counts its pending changes and checks its working copy from the
fiches each edit touched, not from the whole directory — and the count is the one the whole
comparison gives, edit after edit, on the demo directory.

The right answers come another way: the count from ``diff`` of the whole base and working copy
(the page compares the touched fiches alone, ``diff_among``), the findings from a check of the
whole copy with no previous check; the demo's ids and telephones are read with the csv module."""

import csv
import io
import re

import pandas as pd

from reseaux import config
from reseaux.annuaire.changes import diff
from reseaux.annuaire.referential import load_referential
from reseaux.annuaire.store import DirectoryStore
from reseaux.annuaire.table_check import check_table
from tests.conftest import ROOT
from tests.test_annuaire_page import button, page

DEMO = ROOT / "data" / "actors.csv"


def demo_page(monkeypatch, tmp_path, rows: list[dict]):
    """A coordinator on the Annuaire page of a directory of ``rows`` (the demo's, changed)."""
    written = io.StringIO(newline="")
    writer = csv.DictWriter(written, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return page(monkeypatch, tmp_path, written.getvalue().encode("utf-8"))


def shown_count(at) -> int:
    """The pending changes the page announces (0 when it says there are none)."""
    if any("Aucune modification en attente" in c.value for c in at.caption):
        return 0
    said = [re.match(r"\*\*(\d+) modifications? en attente", m.value) for m in at.markdown]
    return int(next(m for m in said if m).group(1))


def assert_right(at, expected: int) -> None:
    """The count shown is the whole diff's (and ``expected``); the kept check is a whole check's."""
    assert not at.exception
    base, work = at.session_state["ann_base"], at.session_state["ann_work"]
    whole = diff(base.table, work)
    assert shown_count(at) == len(whole) == expected, [c.describe() for c in whole]
    held = at.session_state["ann_kept_check"][3]
    fresh = check_table(work, load_referential(config.path("referential")))
    assert held.table is work
    assert held.bad.tolist() == fresh.bad.tolist()
    assert [held.issues_of(r) for r in range(len(work))] == [fresh.issues_of(r) for r in range(len(work))]


def validate(at, actor_id: str, **values) -> None:
    at.session_state["ann_edit"] = actor_id
    at.run()
    for column, value in values.items():
        at.text_input(key=f"ann_f_{column}").input(value)
    at.button(key=f"FormSubmitter:ann_form_{actor_id}-Valider la fiche").click().run()


def test_the_pending_count_follows_each_edit_as_the_whole_diff_counts_it(monkeypatch, tmp_path):
    with DEMO.open(encoding="utf-8", newline="") as handle:
        demo = {row["id"]: row for row in csv.DictReader(handle)}
    first, second, third, fourth = list(demo)[:4]
    demo[second]["date_maj"] = "bientôt"  # a warning the save's date of update takes away
    at, path = demo_page(monkeypatch, tmp_path, list(demo.values()))
    assert any(i.column == "date_maj" for i in at.session_state["ann_kept_check"][3].issues_of(1))
    assert_right(at, 0)

    validate(at, first, telephone="02 61 99 00 01")  # a change
    assert_right(at, 1)
    validate(at, first, telephone=demo[first]["telephone"])  # changed back: no longer pending
    assert_right(at, 0)
    validate(at, first, telephone="02 61 99 00 02")
    validate(at, second, telephone="02 61 99 00 03")
    assert_right(at, 2)

    button(at, "Nouvelle fiche").click().run()  # an addition
    at.text_input(key="ann_f_id").input("ajout-1")
    at.text_input(key="ann_f_nom").input("Centre ajouté (fictif)")
    at.selectbox(key="ann_f_type").set_value("structure")
    at.text_input(key="ann_f_commune").input("Rouen")
    at.text_input(key="ann_f_code_postal").input("76000")
    at.button(key="FormSubmitter:ann_form_None-Valider la fiche").click().run()
    assert_right(at, 3)

    at.session_state["ann_edit"] = third  # a deletion
    at.run()
    button(at, "Supprimer cette fiche").click().run()
    assert_right(at, 4)

    button(at, "Enregistrer").click().run()  # saved: nothing pending, the copy checked again
    assert_right(at, 0)
    assert not any(i.column == "date_maj" for i in at.session_state["ann_kept_check"][3].issues_of(1))
    saved = DirectoryStore(path).load().table.set_index("id")
    assert "ajout-1" in saved.index and third not in saved.index
    validate(at, second, telephone="02 61 99 00 04")  # an edit after the save
    assert_right(at, 1)

    store = DirectoryStore(path)  # someone else saves meanwhile, on the same fiche and another
    theirs = store.load()
    table = theirs.table.copy()
    table.loc[table["id"] == second, "telephone"] = "02 61 99 00 05"
    table.loc[table["id"] == fourth, "telephone"] = "12"  # a warning the replay brings in
    store.save(table, theirs, who="Alice")
    validate(at, first, telephone="02 61 99 00 06")
    assert_right(at, 2)
    button(at, "Enregistrer").click().run()
    button(at, "Rejouer mes modifications sur la nouvelle version").click().run()
    assert_right(at, 1)  # the first fiche replayed; the second is a conflict, theirs kept meanwhile
    at.radio(key=next(r.key for r in at.radio if str(r.key).startswith("ann_replay_"))).set_value(
        "garder la mienne"
    ).run()
    assert_right(at, 2)
    validate(at, fourth, telephone="02 61 99 00 07")  # their « 12 » corrected: its warning gone
    assert_right(at, 3)
    button(at, "Annuler mes modifications").click().run()  # back to their version, « 12 » and its warning
    assert_right(at, 0)


def test_an_id_column_shared_by_an_edit_is_recognised_for_numpy_and_arrow_strings():
    """The fast comparison needs the copy's ids to be the base's very array: true after an edit
    of another column, false after an edit of an id, with object strings (files) as with Arrow
    strings (the database's tables); the changes found are the whole diff's either way."""
    from reseaux.annuaire.changes import diff_among, same_column
    from reseaux.ui.annuaire.fiches import edited, fiche_rows

    with DEMO.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for dtype in (object, "str"):
        base = pd.DataFrame(rows, dtype=dtype)
        key = rows[5]["id"]
        where = base.index[fiche_rows(base, key)]
        phone = edited(base, where, {**base.loc[where[0]].to_dict(), "telephone": "02 61 99 00 09"}, False)
        assert same_column(base["id"], phone["id"]) and same_column(base["id"], phone.reset_index(drop=True)["id"])
        assert [c.describe() for c in diff_among(base, phone, {key})] == [c.describe() for c in diff(base, phone)]
        renamed = edited(base, where, {**base.loc[where[0]].to_dict(), "id": "autre"}, False)
        assert not same_column(base["id"], renamed["id"])
        assert len(diff_among(base, renamed, {key, "autre"})) == len(diff(base, renamed)) == 2


def folded_by_hand(table: pd.DataFrame) -> list[str]:
    """Each fiche's cells folded one by one by ``text.fold``, joined by spaces: what the search box
    must find words in, worked out without the page's code."""
    from reseaux.text import fold

    return [" ".join(fold("" if pd.isna(v) else str(v)) for v in row) for row in table.itertuples(index=False)]


def searched_words(table: pd.DataFrame) -> list[str]:
    """Words to search ``table`` with: folded words of its cells (one in eight), the first three
    letters and last two of others, and words found nowhere."""
    words = sorted({w for text in folded_by_hand(table) for w in text.split()})
    parts = sorted({w[:3] for w in words[1::8]} | {w[-2:] for w in words[2::8]})
    first = sorted({w for text in folded_by_hand(table.head(8)) for w in text.split()})
    return [*words[::8], *parts, *first, "zzyzx", "oe", "ss", "ab", "0"]


def assert_finds_as_folded_by_hand(search, table: pd.DataFrame) -> None:
    """``search`` (a :class:`SearchText` of ``table``) finds, for every word and pair of words, the
    fiches whose cells folded by hand hold them all."""
    import numpy as np

    texts = folded_by_hand(table)
    words = searched_words(table)
    for query in [[w] for w in words] + [[a, b] for a, b in zip(words[::7], words[3::7], strict=False)]:
        expected = np.array([all(w in text for w in query) for text in texts])
        assert (search.holding(table, query) == expected).all(), query


def tricky(base: pd.DataFrame) -> pd.DataFrame:
    """The demo directory with cells the search must fold: capitals and letters beyond ASCII in
    columns otherwise written in lower-case ASCII, other scripts, a missing cell, an empty column."""
    table = base.copy()
    table.loc[1, "telephone"] = "02 35 AB 12"
    table.loc[2, "code_postal"] = "76Ø00"
    table.loc[3, "email"] = "Œuvre@Example.org"
    table.loc[4, "nom"], table.loc[5, "commune"], table.loc[6, "description"] = "  Sœurs  ", "Ωmega", None
    table["horaires"] = ""
    return table


def test_the_search_finds_what_each_cell_folded_holds():
    """The columns in lower-case ASCII are searched as written, the others folded (0.2 GB of text
    at a million fiches, 0.05 now): the fiches found are those whose cells, each folded by
    ``text.fold``, hold every word — capitals, accents, other scripts, missing cells included."""
    from reseaux.ui.annuaire import fiches

    base = DirectoryStore(DEMO).load().table
    for table in (base, tricky(base), tricky(base).astype(object)):
        search = fiches.build_search(table)
        assert_finds_as_folded_by_hand(search, table)
        # The columns of codes, telephones, postcodes… are not copied folded: the text is half.
        assert {"id", "telephone", "code_postal", "email", "latitude", "date_maj"} <= set(search.raw)
        assert search.text.str.len().sum() < sum(map(len, folded_by_hand(table))) * 0.6
        assert "horaires" not in search.raw and "nom" not in search.raw
    table = tricky(base)
    search, whole = fiches.build_search(table), fiches._search_text(table)
    # A fiche with a capital or an accent in such a column: its every cell folded, the others not.
    assert [search.text[i] == whole[i] for i in range(5)] == [False, True, True, True, False]
    assert search.holding(table, ["ab", "12"])[1] and search.holding(table, ["oeuvre"])[3]


def test_the_search_text_after_an_edit_is_the_whole_text_folded_again(monkeypatch):
    """After an edit only the fiches it touched are folded again (5.7 s for the whole text at a
    million fiches); the search finds what it finds in the whole copy folded, whatever the edit —
    a capital or an accent typed in a column searched as written, a column empty until then."""
    from reseaux.ui.annuaire import fiches

    base = DirectoryStore(DEMO).load().table
    key = str(base.loc[4, "id"])
    in_place = fiches.edited(base, [4], {**base.loc[4].to_dict(), "nom": "Cabinet Œuvre Nouvelle"}, False)
    capital = fiches.edited(base, [4], {**base.loc[4].to_dict(), "telephone": "02 35 AB 99"}, False)
    filled = fiches.edited(base, [4], {**base.loc[4].to_dict(), "horaires": "Lundi 9 h – 12 h"}, False)
    added = fiches.edited(base, [], {**base.loc[0].to_dict(), "id": "neuve", "code_postal": "Ærø 76"}, True)
    removed = base.drop(index=[2, 3]).reset_index(drop=True)
    doubled = base.copy()
    doubled.loc[6, "id"] = key  # two fiches with one id: both folded again
    folded = []
    real = fiches._search_text
    monkeypatch.setattr(fiches, "_search_text", lambda table: folded.append(len(table)) or real(table))
    before = fiches.build_search(base)
    for after, changed, at_most in (
        (in_place, {key}, 1),
        (capital, {key}, 1),
        (filled, {key}, 1),
        (added, {"neuve"}, 1),
        (removed, {str(base.loc[2, "id"]), str(base.loc[3, "id"])}, 0),
        (doubled, {str(base.loc[6, "id"])}, 2),
    ):
        folded.clear()
        search = fiches._search_text_after(base, before, after, changed)
        assert_finds_as_folded_by_hand(search, after)
        assert folded[:1] == ([at_most] if at_most else [])
    assert fiches._search_text_after(base, before, capital, {key}).holding(capital, ["ab", "99"])[4]
    # An edit in place where two fiches share an id: each keeps its own text, none hashed again.
    twice = fiches.build_search(doubled)
    other = fiches.edited(doubled, [8], {**doubled.loc[8].to_dict(), "telephone": "02 35 00 00 08"}, False)
    folded.clear()
    search = fiches._search_text_after(doubled, twice, other, {str(doubled.loc[8, "id"])})
    assert_finds_as_folded_by_hand(search, other)
    assert folded[:1] == [1]

    # Every fiche still there: the text before is shared, not copied (0.55 GB at a million fiches).
    import pyarrow as pa

    whole, kept = before.text.array.nbytes, []
    del search  # the loop's last: its memory would be taken again
    for after, changed in ((in_place, {key}), (added, {"neuve"})):
        allocated = pa.total_allocated_bytes()
        kept.append(fiches._search_text_after(base, before, after, changed))
        assert pa.total_allocated_bytes() - allocated < whole / 10, "the text before copied"
        assert_finds_as_folded_by_hand(kept[-1], after)
    allocated = pa.total_allocated_bytes()
    kept.append(fiches._search_text_after(base, before, removed, {str(base.loc[2, "id"]), str(base.loc[3, "id"])}))
    assert pa.total_allocated_bytes() - allocated > whole / 2, "a fiche deleted: its text must not stay in slices"


def test_the_search_text_folded_a_block_of_fiches_at_a_time_is_each_fiche_folded_by_python(monkeypatch):
    """The text is made a block of rows at a time (its peak at a million fiches); whatever the
    blocks, each fiche's text is its cells folded one by one by ``text.fold``, joined by spaces."""
    from reseaux.text import fold
    from reseaux.ui.annuaire import fiches

    base = DirectoryStore(ROOT / "data" / "actors.csv").load().table
    expected = [" ".join(fold("" if pd.isna(v) else str(v)) for v in row) for row in base.itertuples(index=False)]
    for rows in (7, len(base), 10 * len(base)):
        monkeypatch.setattr(fiches, "SEARCH_ROWS", rows)
        text = fiches._search_text(base)
        assert text.tolist() == expected and text.index.equals(base.index)
