"""``changes.diff`` compares two versions of the directory column by column on Arrow arrays; its
answer must be the one a reader gets by comparing the fiches as dicts, row by row, the way a
person reads the two files (written here independently, for tables whose answer is known)."""

import numpy as np
import pandas as pd
import pytest

from reseaux.annuaire.changes import diff
from reseaux.annuaire.store import DirectoryStore
from tests.conftest import ROOT


def as_text(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


def by_dict(before: pd.DataFrame, after: pd.DataFrame) -> list[tuple]:
    """The changes, fiche by fiche: a fiche is its id (or its line when it has none); a fiche
    given twice counts at its first place with its last values."""

    def records(table):
        out = {}
        for n, row in enumerate(table.itertuples(index=False)):
            cells = dict(zip(map(str, table.columns), map(as_text, row), strict=True))
            key = as_text(table.iloc[n, list(map(str, table.columns)).index("id")]) if "id" in table.columns else ""
            out[key or f"(ligne {n + 2} sans id)"] = cells  # a dict keeps the first place
        return out

    old, new = records(before), records(after)
    names = [*map(str, after.columns), *(c for c in map(str, before.columns) if c not in set(map(str, after.columns)))]
    found = []
    for key, cells in new.items():
        if key not in old:
            found.append(("ajout", key, cells.get("nom", ""), {}))
            continue
        fields = {c: (old[key].get(c, ""), cells.get(c, "")) for c in dict.fromkeys(names)}
        fields = {c: pair for c, pair in fields.items() if pair[0] != pair[1]}
        if fields:
            found.append(("modification", key, cells.get("nom", ""), fields))
    found += [("suppression", key, cells.get("nom", ""), {}) for key, cells in old.items() if key not in new]
    return found


def found(before, after):
    return [(c.kind, c.id, c.nom, c.fields) for c in diff(before, after)]


@pytest.fixture(scope="module")
def base():
    return DirectoryStore(ROOT / "data" / "actors.csv").load().table


def test_the_store_table_is_arrow_text(base):
    """What the comparison is fast on: the store's columns are Arrow strings."""
    assert all(hasattr(base[c].array, "__arrow_array__") for c in base.columns)


def test_edits_of_every_kind_are_the_dict_reading(base):
    after = base.copy()
    after.loc[2, "telephone"] = "02 35 00 00 00"
    after.loc[3, ["nom", "commune"]] = ["Nouveau nom", "Déville-lès-Rouen"]
    after.loc[5, "site_web"] = None  # a cell emptied as pandas empties it
    after["latitude"] = after["latitude"].astype(object)
    after.loc[7, "latitude"] = 49.5  # a number written by a geocoder: compared as its text
    after = after.drop(index=[10, 11])
    added = after.iloc[[0]].assign(id="nouvelle-1", nom="Fiche ajoutée")
    after = pd.concat([after, added], ignore_index=True)
    expected = by_dict(base, after)
    assert [(k, i) for k, i, *_ in expected][:4] == [
        ("modification", base.loc[2, "id"]),
        ("modification", base.loc[3, "id"]),
        ("modification", base.loc[5, "id"]),
        ("modification", base.loc[7, "id"]),
    ]
    assert len(expected) == 7
    assert found(base, after) == expected


def test_columns_added_and_removed_repeated_and_missing_ids(base):
    before = base.head(12).copy()
    before.loc[4, "id"] = before.loc[3, "id"]  # a fiche given twice: its last values count
    before.loc[6, "id"] = None  # no id: known by its line
    after = before.drop(columns=["horaires"]).assign(nouvelle_colonne="x")
    after.loc[4, "email"] = "autre@example.org"  # the second copy of the repeated id
    after.loc[3, "email"] = "premier@example.org"  # the first: not the values that count
    after.loc[6, "nom"] = "Sans identifiant"
    assert found(before, after) == by_dict(before, after)
    assert found(after, before) == by_dict(after, before)


def edited(table: pd.DataFrame, rng, round_: int, most: int = 6) -> pd.DataFrame:
    """``table`` with up to ``most`` cells rewritten at random (emptied, missing, kept, new)."""
    after = table.copy()
    for _ in range(rng.integers(0, most)):
        row, column = int(rng.integers(len(after))), str(rng.choice(after.columns))
        after.loc[row, column] = rng.choice(["", "a", None, "Rouen", after.loc[row, column], f"v{round_}"])
    return after


def test_random_edits_are_the_dict_reading(base):
    rng = np.random.default_rng(7)
    before = base.head(40).copy()
    for round_ in range(30):
        after = edited(before, rng, round_)
        keep = rng.random(len(after)) > 0.1
        after = after[keep].iloc[rng.permutation(int(keep.sum()))]
        assert found(before, after) == by_dict(before, after), round_


def test_the_same_table_changes_nothing(base):
    assert diff(base, base) == []
    assert diff(base, base.copy()) == []


def test_cells_differ_is_the_row_by_row_reading(base):
    """What the database's whole-table save asks (``cells_differ``: which kept rows are written
    again), column by column on Arrow arrays, against the cells of both rows read one by one as a
    person does (a missing cell is « »): random edits, rows paired in place and across an order
    changed, Arrow text and object columns mixed."""
    from reseaux.annuaire.changes import cells_differ

    rng = np.random.default_rng(11)
    before = base.head(40).copy()
    for round_ in range(30):
        after = edited(before, rng, round_)
        if round_ % 3 == 0:
            after["telephone"] = after["telephone"].astype(object)  # not Arrow text: read cell by cell
        by_hand = [
            any(as_text(before.iat[r, j]) != as_text(after.iat[r, j]) for j in range(after.shape[1]))
            for r in range(len(after))
        ]
        assert cells_differ(before, after).tolist() == by_hand, round_
        pairs = rng.permutation(len(after))  # row pairs[i] of before against row i of after
        by_hand = [
            any(as_text(before.iat[p, j]) != as_text(after.iat[r, j]) for j in range(after.shape[1]))
            for r, p in enumerate(pairs)
        ]
        assert cells_differ(before, after, pairs, np.arange(len(after))).tolist() == by_hand, round_


def test_a_whole_table_reordered_with_a_few_edits_is_the_dict_reading(base):
    """Every fiche kept but in another order (a sort, an import that rewrote the table): the
    fiches are paired by id, not by place, even though no row is added or removed."""
    rng = np.random.default_rng(5)
    before = base.head(40).copy()
    for round_ in range(10):
        after = edited(before.iloc[rng.permutation(len(before))].reset_index(drop=True), rng, round_, most=4)
        assert found(before, after) == by_dict(before, after), round_


def test_edits_in_place_are_the_dict_reading(base):
    """A copy edited in other columns than the ids (a whole-table save of the page's copy): the
    ids are one column on both sides, and only the rows whose cells differ are compared as fiches;
    the answer is still the dict reading's."""
    from reseaux.annuaire.changes import same_column

    rng = np.random.default_rng(3)
    before = base.head(40).copy()
    for round_ in range(20):
        after = before.copy()
        for _ in range(rng.integers(0, 6)):
            row, column = int(rng.integers(len(after))), str(rng.choice([c for c in after.columns if c != "id"]))
            after.loc[row, column] = rng.choice(["", "a", None, "Rouen", f"v{round_}"])
        assert same_column(before["id"], after["id"])  # the path asked for
        assert found(before, after) == by_dict(before, after), round_


def test_a_column_named_twice_in_a_copy_edited_in_place_is_the_dict_reading(base):
    """Two columns of one name (a hand-made file), the ids' included: the last one is read, as a
    dict keeps the last value of a key, when the copy shares its columns with the table too."""
    for name, at in (("telephone", 3), ("id", 2)):
        before = base.head(12).copy()
        before.insert(at, name, before["nom"], allow_duplicates=True)
        after = before.copy()
        after.iloc[2, at] = "changé dans la première"  # the first of the two: not the one read
        after.iloc[5, list(after.columns).index("email")] = "autre@example.org"
        assert found(before, after) == by_dict(before, after), name
