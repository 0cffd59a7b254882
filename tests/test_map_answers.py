"""The map page answered by PostgreSQL (``ui.map_answers.of_database``) as by the directory read in
memory (``of_memory``): each count and notice, the actors each filter keeps and where they stand,
their colours and legend, the list and its downloads, the fiches a popup asks and the map's search
box — for a visitor and for a member, on the demo's Rouen network, the real FINESS listing of 1,674
hospitals (168 overseas) and rows a reading of the raw cells would get wrong (``test_readings``).

The memory side is the app's own reading of the file, as every page read it before: the same
answers, for the same person, or the database's are wrong.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from reseaux.acces.access import exportable_actors
from reseaux.analyse.filters import ActorFilter, apply_filter, emptying_fields
from reseaux.annuaire.exports import table_csv_bytes
from reseaux.annuaire.fiche_service import FrameRows
from reseaux.annuaire.listing import people_table
from reseaux.app_data import load_actors, visible_view
from reseaux.carte.actor_layer import _colors
from reseaux.carte.legend import COLOR_BY
from reseaux.carte.mapview import MapView
from reseaux.stockage import directory_index
from reseaux.ui.database_rows import DatabaseRows
from reseaux.ui.map_answers import of_database, of_memory
from tests import test_readings as same
from tests.conftest import ROOT
from tests.test_readings import KEY, _page_filters

# The fixtures of the same directory, in the same database.
national, referential, store, territory = same.national, same.referential, same.store, same.territory
qpv_layer = same.qpv_layer

#: Who opens the map: a visitor where visitors see the public fiches, a member.
WHO = [("visiteur", "public"), ("membre", "public")]


@pytest.fixture(scope="module")
def read(national, referential, tmp_path_factory):
    """The directory read in memory by the app's loader, as the pages read it."""
    path = tmp_path_factory.mktemp("carte") / "annuaire.csv"
    path.write_bytes(national)
    return load_actors(path, referential)


def _both(read, store, referential, territory, role, visitors, flt, color_by="type"):
    acts = read if role == "membre" else visible_view(read, role, visitors)
    view = MapView(layers=(), color_by=color_by)
    memory = of_memory(referential, territory, flt, view, acts)
    index = directory_index.build(store, referential, KEY, str(store.current_version()))
    seen = DatabaseRows(store, referential, KEY, role, visitors, index)
    return memory, of_database(referential, territory, flt, view, seen, role, visitors), seen, acts


@pytest.mark.parametrize("who", WHO, ids=[r for r, _ in WHO])
def test_the_map_page_reads_from_the_database_what_it_reads_in_memory(read, store, referential, territory, who):
    role, visitors = who
    kept = 0
    for flt in _page_filters(territory):
        for color_by in COLOR_BY:
            memory, base, _, _ = _both(read, store, referential, territory, role, visitors, flt, color_by)
            where = f"{role}, {flt}, {color_by}"
            for name in (
                "total",
                "reserved",
                "rejected",
                "fictive",
                "approximate",
                "unplaced",
                "placed_total",
                "sentence",
                "count",
                "placed",
                "legend",
            ):
                assert getattr(base, name) == getattr(memory, name), f"{name} : {where}"
            assert sorted(base.communes) == sorted(memory.communes), where
            for column in ("latitude", "longitude"):
                placed = memory.positions[column].dropna().to_numpy()
                np.testing.assert_array_equal(base.positions[column].to_numpy(), placed, err_msg=where)
                np.testing.assert_array_equal(
                    base.drawn[column].to_numpy(), memory.drawn[column].to_numpy(dtype=float), err_msg=where
                )
            highlight = flt.themes if color_by == "thematique" else flt.professions
            _, colors = _colors(memory.drawn, referential, color_by, highlight)
            np.testing.assert_array_equal(base.colors, colors, err_msg=where)
            got = base.listed(7)
            assert got["id"].tolist() == memory.listed(7)["id"].tolist(), where
            assert base.withheld() == memory.withheld(), where
            if not memory.count:
                assert base.culprits() == memory.culprits(), where
            kept += memory.count > 0
    assert kept > 20  # answers, not empty lists agreeing
    assert memory.rejected == (2 if role == "membre" else 0)  # the repeated identifier, the row in error
    assert (memory.reserved > 0) == (role == "visiteur") and memory.fictive > 0 and memory.unplaced >= 0


def test_the_frames_of_a_view_are_its_placed_arrays_not_copies(store, referential):
    """Without a filter, the map's frame and the view's positions are the same arrays (at a million
    fiches, 38 MB of copies per view): read-only, so that no reader changes them for another."""
    index = directory_index.build(store, referential, KEY, str(store.current_version()))
    seen = DatabaseRows(store, referential, KEY, "membre", "public", index)
    shown = seen.seen & index.placed
    whole, part = seen.frame(shown), seen.frame(shown & (np.arange(len(shown)) % 3 == 0))
    for frame, mask in ((whole, shown), (part, shown & (np.arange(len(shown)) % 3 == 0))):
        np.testing.assert_array_equal(frame["latitude"].to_numpy(), index.lat[mask])
        np.testing.assert_array_equal(frame["longitude"].to_numpy(), index.lon[mask])
        np.testing.assert_array_equal(frame.index.to_numpy(), index.rows[mask])
    for column in ("latitude", "longitude"):
        assert np.shares_memory(whole[column].to_numpy(), seen.positions[column].to_numpy())
        assert not np.shares_memory(part[column].to_numpy(), seen.positions[column].to_numpy())
    with pytest.raises(ValueError, match="read-only"):
        whole.loc[whole.index[0], "latitude"] = 0.0
    assert seen.positions["latitude"].iloc[0] == index.lat[shown][0] != 0.0


def test_the_colours_that_differ_by_the_filter_chosen_are_the_same(read, store, referential, territory):
    """An actor of several themes takes the colour of the one filtered on: the database picks it too."""
    flt = ActorFilter(themes=("contraception", "ivg"))
    memory, base, _, _ = _both(read, store, referential, territory, "membre", "public", flt, "thematique")
    _, colors = _colors(memory.drawn, referential, "thematique", flt.themes)
    _, unpreferred = _colors(memory.drawn, referential, "thematique", ())
    assert (colors != unpreferred).any()  # the filter changes some colours: the test can see it
    np.testing.assert_array_equal(base.colors, colors)


@pytest.mark.parametrize("who", WHO, ids=[r for r, _ in WHO])
def test_the_list_and_its_downloads_are_the_same_files(read, store, referential, territory, who, monkeypatch):
    """The CSV download is read and written a part at a time (here 7 fiches, against the hundreds
    kept): the same bytes as the whole list written at once, from memory or the database."""
    # The module (``reseaux.ui.map_answers`` as an attribute is the package's function of that name).
    monkeypatch.setattr(sys.modules[of_database.__module__], "EXPORTED_AT_ONCE", 7)
    role, visitors = who
    for flt in (ActorFilter(), ActorFilter(themes=("ivg",)), ActorFilter(text="centre hospitalier")):
        memory, base, _, _ = _both(read, store, referential, territory, role, visitors, flt)
        files = [
            table_csv_bytes(people_table(exportable_actors(shown.listed(None), role), referential))
            for shown in (memory, base)
        ]
        assert files[0] == files[1] and files[0].count(b"\n") > 10, flt
        assert memory.exported_csv(referential, role) == base.exported_csv(referential, role) == files[0], flt
    memory, base, _, _ = _both(read, store, referential, territory, role, visitors, ActorFilter(text="zzzz"))
    assert memory.exported_csv(referential, role) == base.exported_csv(referential, role)  # nobody: the header
    assert base.exported_csv(referential, role).count(b"\n") == 1


@pytest.mark.parametrize("who", WHO, ids=[r for r, _ in WHO])
def test_a_popup_and_the_search_box_read_what_the_person_may_see(read, store, referential, territory, who):
    role, visitors = who
    memory, base, seen, acts = _both(read, store, referential, territory, role, visitors, ActorFilter())
    frame = FrameRows(acts.directory.actors, referential)
    in_memory = memory.drawn.index.to_numpy()
    asked = [0, 3, len(in_memory) // 2, len(in_memory) - 1]  # the database's rows are its row keys
    assert seen.fiches(base.drawn.index[asked].tolist()) == frame.fiches(in_memory[asked].tolist())
    ids = acts.directory.actors["id"]
    for words in (["centre", "hospitalier"], ["planning"], ["rouen"], ["zzzz"]):
        found_here = frame.find(words, 50)
        found_there = seen.find(words, 50)
        there = seen.fiches(found_there) if found_there else []
        named = [fiche[0] for fiche in there]
        assert named == [frame.fiches([r])[0][0] for r in found_here], words
        assert len(found_here) == len(found_there) == len(ids.iloc[found_here]), words
    assert seen.find(["centre", "hospitalier"], 50)  # the searches find someone: the test can see it


def test_a_visitor_cannot_ask_a_fiche_for_members(read, store, referential, territory):
    _, _, visitor, _ = _both(read, store, referential, territory, "visiteur", "public", ActorFilter())
    _, _, member, _ = _both(read, store, referential, territory, "membre", "public", ActorFilter())
    reserved = sorted(set(member.index.rows[member.seen].tolist()) - set(visitor.index.rows[visitor.seen].tolist()))
    assert reserved
    with pytest.raises(IndexError):
        visitor.fiches([reserved[0]])
    with pytest.raises(IndexError):
        visitor.fiches([int(max(member.index.rows)) + 1000])  # a row key that is no fiche
    assert member.fiches([reserved[0]])[0][0]
    assert not pd.Series(visitor.find(["maraude", "reservee"], 10)).isin(reserved).any()


# « Couverture » counted from the database's index, as from the directory in memory.

#: Filters as people choose them on the page (its facets), one that keeps nobody.
COUNTED = [
    ActorFilter(),
    ActorFilter(themes=("ivg",)),
    ActorFilter(professions=("sage_femme", "medecin_generaliste"), types=("professionnel",)),
    ActorFilter(themes=("ivg",), types=("aller_vers",)),
]


@pytest.mark.parametrize("who", WHO, ids=[r for r, _ in WHO])
def test_couverture_counts_from_the_database_what_it_counts_in_memory(
    read, store, referential, territory, qpv_layer, who
):
    from reseaux.analyse.coverage import (
        OutreachAreas,
        PreparedLayer,
        actor_points,
        coverage_table,
        outreach_codes,
        theme_matrix,
        zones_of_codes,
    )
    from reseaux.ui.couverture import InDatabase, counted_matrix, counted_table

    role, visitors = who
    _, _, seen, acts = _both(read, store, referential, territory, role, visitors, ActorFilter())
    base = InDatabase(seen)
    frame = acts.directory.actors
    zones = outreach_codes(frame)
    assert base.outreach() == zones and len(zones) > 3  # the outreach actions' zones, as read in memory
    assert "76451" not in zones  # a structure's zone is not an outreach action's
    areas = OutreachAreas(zones_of_codes(zones))
    labels = referential.labels("thematique")
    counted = 0
    # The Métropole's QPV and CLS, and the 1,584 QPV of France, overseas included (each measured in
    # its territory's system).
    for layer_id, layer in [(i, PreparedLayer.build(territory.layers[i])) for i in ("qpv", "cls")] + [
        ("national", qpv_layer)
    ]:
        for flt in COUNTED:
            chosen = apply_filter(frame, flt, referential).actors
            expected = coverage_table(layer, actor_points(chosen), distance_m=700.0, outreach_zones=areas)
            table, nobody = counted_table(base, layer, flt, 700.0, areas)
            pd.testing.assert_frame_equal(table, expected, obj=f"{role}, {layer_id}, {flt}")
            assert nobody == chosen.empty
            matrix = counted_matrix(base, layer, flt, labels, 700.0)
            truth = theme_matrix(layer, chosen, list(labels), labels, distance_m=700.0)
            pd.testing.assert_frame_equal(matrix, truth, obj=f"matrice {role}, {layer_id}, {flt}")
            counted += int(expected["n_within"].sum() > 0)
        assert base.culprits(ActorFilter(themes=("ivg",), types=("laboratoire",))) == emptying_fields(
            frame, ActorFilter(themes=("ivg",), types=("laboratoire",)), referential
        )
    assert counted >= 4  # actors counted, not empty tables agreeing


def test_an_empty_directory_is_answered_as_in_memory(database_url, referential, territory, tmp_path):
    """A database whose directory holds no fiche yet (a network starting): the same page as from
    an empty file, not an error."""
    from reseaux.stockage.postgres import PostgresDirectoryStore

    header = (ROOT / "data" / "actors.csv").read_text(encoding="utf-8").splitlines()[0] + "\n"
    path = tmp_path / "vide.csv"
    path.write_text(header, encoding="utf-8")
    empty = PostgresDirectoryStore(database_url)
    empty.replace(header.encode("utf-8"), "test", "migration")
    acts = load_actors(path, referential)
    for flt in (ActorFilter(), ActorFilter(themes=("ivg",))):
        memory = of_memory(referential, territory, flt, MapView(layers=()), acts)
        index = directory_index.build(empty, referential, KEY, str(empty.current_version()))
        base = of_database(
            referential,
            territory,
            flt,
            MapView(layers=()),
            DatabaseRows(empty, referential, KEY, "membre", "public", index),
            "membre",
            "public",
        )
        for name in ("total", "count", "placed", "legend", "rejected", "fictive", "sentence"):
            assert getattr(base, name) == getattr(memory, name), name
        assert base.listed(10).empty and base.culprits() == memory.culprits()
