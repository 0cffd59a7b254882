"""One folding of text: ``reseaux.text.fold`` on the server and ``fold`` (fiches.js) in
the map's browser code give the same answer on the same table of cases
(tests/data/folding_cases.json), and the search, the filters, the referential and the place
names all fold through it."""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata

import pandas as pd
import pytest

from reseaux.analyse.filters import ActorFilter, apply_filter, search_text
from reseaux.annuaire.fiche_service import MAX_FOUND, MAX_QUERY, MAX_WORDS, MIN_WORD, FicheService
from reseaux.carte.actor_layer import fiche_blob, search_fields
from reseaux.territoire.commune_locator import fold_place
from reseaux.text import _LETTERS, _FoldTable, fold
from tests.conftest import ROOT
from tests.test_javascript import run_module

CASES = json.loads((ROOT / "tests" / "data" / "folding_cases.json").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize(("text", "folded"), CASES, ids=[repr(c[0]) for c in CASES])
def test_fold_gives_each_case_of_the_table(text, folded):
    assert fold(text) == folded


def in_browser(function: str, value: object) -> object:
    """What the JavaScript ``function`` (written with fiches.js's exports in scope) answers for ``value``."""
    return run_module("fiches.js", function, value)


def test_every_letter_the_server_writes_out_the_browser_writes_the_same():
    """The letters are written twice (text._LETTERS, and fold in fiches.js, which cannot import
    Python): the same map, and each letter folded the same, in a word and in capitals."""
    texts = [case(f"a{letter}b") for letter in _LETTERS for case in (str, str.upper)]
    answer = in_browser("(texts) => ({letters: fold.letters, folded: texts.map((t) => fold(t))})", texts)
    assert answer["letters"] == _LETTERS
    assert answer["folded"] == [fold(t) for t in texts]
    assert [fold(f"a{letter}b") for letter in _LETTERS] == [" ".join(f"a{v}b".split()) for v in _LETTERS.values()]


def test_there_is_one_folding():
    assert fold(None) == ""
    # place names: « Saint » written out and CEDEX dropped, on top of the same folding
    assert fold_place("St-Étienne-du-Rouvray CEDEX") == fold("Saint-Étienne-du-Rouvray")


def test_the_folding_table_is_filled_as_characters_are_met():
    """Importing reseaux.text scanned the 1.1 million code points (0.1 s for the app, the command
    line and each test worker): now a character's entry is written the first time it is folded."""
    code = "import reseaux.text as t; print(len(t._FOLD_TABLE) == len(t._LETTERS))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "True", done.stdout + done.stderr


def test_the_folding_table_folds_every_code_point_as_the_full_scan_did():
    every = "".join(chr(c) for c in range(sys.maxunicode + 1))
    scanned = {c: None for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Mn"}
    scanned.update({ord(k): v for k, v in _LETTERS.items()})
    assert every.translate(_FoldTable()) == every.translate(scanned)


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "nom": ["Centre des Sœurs", "Cabinet Martin", "Laboratoire Élan"],
            "structure": ["Consultation d’IVG", "Sage femme", "Dépistage IST/VIH"],
            "adresse": ["", "", ""],
            "code_postal": ["76000", "76100", "76000"],
            "commune": ["Rouen", "Rouen", "Saint-Étienne-du-Rouvray"],
        }
    )


@pytest.mark.parametrize(
    ("query", "row"),
    [
        ("soeurs", 0),
        ("SŒURS", 0),
        ("d'IVG", 0),
        ("sage-femme", 1),
        ("Sage‑Femme", 1),
        ("elan", 2),
        ("ist vih", 2),
        ("IST/VIH", 2),
        ("saint-etienne", 2),
        ("sœurs sage", None),
    ],
)
def test_the_maps_search_finds_what_people_type(referential, query, row):
    """The map's search box asks fiche_service.search: « soeurs » missed « Sœurs » before, and
    « d'IVG » missed « d’IVG », « sage-femme » missed « Sage femme »."""
    service = FicheService()
    token = service.register("s", _frame(), referential, ttl_s=60)
    assert service.search(token, query)["rows"] == ([] if row is None else [row])


@pytest.mark.parametrize("query", ["soeurs", "d'IVG", "sage-femme", "elan", "IST/VIH"])
def test_the_sidebar_finds_what_the_map_finds(referential, query):
    frame = _frame()
    found = apply_filter(frame, ActorFilter(text=query), referential, search=search_text(frame)).actors
    service = FicheService()
    token = service.register("s", _frame(), referential, ttl_s=60)
    assert found.index.tolist() == service.search(token, query)["rows"] != []


def test_a_standalone_maps_search_takes_words_as_the_server_does(referential):
    """A standalone export searches its own fiches (blobFiches) where the app asks the server
    (FicheService.search): one-letter words kept, words repeated and more than six of them made
    them answer differently. The same rules, and the same rows for the same queries."""
    rules = in_browser("() => searchWords.rules", None)
    assert rules == {"maxQuery": MAX_QUERY, "minWord": MIN_WORD, "maxWords": MAX_WORDS, "maxFound": MAX_FOUND}
    frame = _frame()
    queries = [
        "e",
        "so",
        "d",
        "sage femme x",
        "x sage",
        "soeurs soeurs",
        "SAGE-FEMME",
        "d’IVG",
        "",
        "   ",
        "centre des soeurs consultation ivg rouen zzz",
        "zzz centre des soeurs consultation ivg",
        "ist vih",
        "é l a n",
        "elan " + "ab " * 100 + "zzz",
        "z" * 300,
        "saint etienne",
    ]
    service = FicheService()
    token = service.register("s", frame, referential, ttl_s=60)
    found = in_browser(
        """({blob, fields, queries}) => {
        const source = blobFiches(blob, fields);
        return Promise.all(queries.map((q) => source.search(q)));
    }""",
        {"blob": fiche_blob(frame, referential), "fields": search_fields(), "queries": queries},
    )
    assert dict(zip(queries, found, strict=True)) == {q: service.search(token, q) for q in queries}


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("centre sante elan", ["Centre Santé Élan"]),
        ("Sage femme", ["Camille Exemple"]),
        ("ELAN  grand-quevilly", ["Centre Santé Élan"]),
    ],
)
def test_the_directorys_table_finds_what_people_type(monkeypatch, tmp_path, query, names):
    """The Annuaire page's search box: lower case only before, so « centre sante elan » missed
    « Centre Santé Élan » and « Sage femme » missed a sage-femme."""
    from tests.test_annuaire_page import page

    at, _ = page(monkeypatch, tmp_path)
    at.text_input(key="ann_search").input(query).run()
    assert not at.exception
    assert at.dataframe[0].value["Nom"].tolist() == names


def test_a_column_folded_by_arrow_is_fold_of_each_value_for_every_code_point():
    """``fold_column`` folds with Arrow what it can and leaves the rest to ``fold``: the same
    answer for every code point, alone at either end of a word and inside it (Arrow's Unicode
    database is newer than Python's: U+209D decomposes to « w » there, is unknown here)."""
    from reseaux.text import fold_column

    values = [f"{c}É{c}x{c}" for c in map(chr, range(sys.maxunicode + 1)) if not 0xD800 <= ord(c) <= 0xDFFF]
    values += [text for text, _ in CASES] + [None, "", "  ", "ℌ_Ⅻ"]
    column = pd.Series(values, dtype=object)
    assert fold_column(column).tolist() == [fold(v) for v in values]


@pytest.mark.parametrize("name", ["data/actors.csv", "tests/data/actors_small.csv"])
def test_a_directory_s_columns_folded_by_arrow(name):
    """On a directory's columns as the store holds them (Arrow strings), few values repeated or
    many: each folded value is ``fold``'s."""
    from reseaux.annuaire.store import DirectoryStore
    from reseaux.text import fold_column

    table = DirectoryStore(ROOT / name).load().table
    many = pd.concat([table] * (30_000 // len(table) + 1), ignore_index=True)  # repeated values: folded once
    for frame in (table, many):
        for column in frame.columns:
            assert fold_column(frame[column]).tolist() == [fold(v) for v in frame[column].fillna("")], column


def _row_by_row(actors: pd.DataFrame) -> list[str]:
    """The map's search text as written first: each row's searched cells joined, then folded."""
    from reseaux.analyse.filters import SEARCH_COLUMNS

    def cell(value) -> str:
        return " ".join(value) if isinstance(value, tuple | list) else ("" if pd.isna(value) else str(value))

    present = [c for c in SEARCH_COLUMNS if c in actors]
    return [fold(" ".join(cell(v) for v in row)) for row in actors[present].itertuples(index=False)]


@pytest.mark.parametrize("name", ["data/actors.csv", "tests/data/actors_small.csv"])
def test_the_maps_search_text_folded_by_columns_is_each_row_folded_whole(monkeypatch, referential, name):
    """``search_text`` folds each column by Arrow and joins them: the text of each row is
    ``fold`` of its cells joined, blank cells, lists of words and odd letters included, whole
    and in pieces."""
    from reseaux.analyse import filters
    from reseaux.annuaire.directory import load_directory

    actors = load_directory(ROOT / name, referential).actors
    odd = pd.concat([actors] * 6, ignore_index=True).head(6)
    odd["nom"] = ["", "  Sœurs  ", "Ωmega x", "a\u0301b", "ℌ_Ⅻ", "d’IVG"]
    odd["structure"] = ["", "", "Élan", "", "—", "x"]
    odd["description"] = ["", "IST/VIH", "", "", "", "  "]
    odd["specialites"] = [(), ("Œdème", "x"), (), ("a", ""), (), ("é",)]
    for frame in (actors, odd):
        assert filters.search_text(frame).tolist() == _row_by_row(frame)
        monkeypatch.setattr(filters, "SEARCH_CHUNK", 4)
        assert filters.search_text(frame).tolist() == _row_by_row(frame)
        monkeypatch.setattr(filters, "SEARCH_CHUNK", 50_000)


@pytest.mark.parametrize("at_once", [1, 4, 100])
def test_the_annuaire_search_text_joined_a_few_columns_at_a_time_is_each_cell_folded(monkeypatch, at_once):
    """The Annuaire page's search text folds and joins a few columns at a time (a join of joins:
    all the folded columns held together were 0.4 GB at a million fiches): each row's text is
    still ``fold`` of each of its cells, joined by a space, whatever the number at a time."""
    from reseaux.annuaire.store import DirectoryStore
    from reseaux.ui.annuaire import fiches

    table = DirectoryStore(ROOT / "data" / "actors.csv").load().table.head(60).copy()
    table.loc[1, "nom"], table.loc[2, "description"], table.loc[3, "commune"] = "  Sœurs  ", None, "Ωmega"
    by_hand = [
        " ".join(fold("" if pd.isna(cell) else str(cell)) for cell in row) for row in table.itertuples(index=False)
    ]
    monkeypatch.setattr(fiches, "FOLDED_AT_ONCE", at_once)
    assert fiches._search_text(table).tolist() == by_hand
