"""Coverage on two square perimeters and actors placed at known distances (Lambert-93); its sentence,
legend and exports."""

import io
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from shapely.geometry import Point, box

from reseaux.analyse.coverage import OutreachAreas, Positions, PreparedLayer, actor_points, coverage_table, theme_matrix
from reseaux.analyse.coverage_report import MEASURES, classes, filter_phrase, readable_table, summary_sentence
from reseaux.analyse.filters import ActorFilter
from reseaux.annuaire.exports import table_csv_bytes, table_xlsx_bytes
from reseaux.carte.choropleth import (
    class_labels,
    coverage_base_map,
    coverage_legend_html,
    coverage_overlay,
    shapes_json,
)
from tests.conftest import ROOT, positioned

X0, Y0 = 562000.0, 6928000.0


def square_frame():
    # S1: 1 km square with population 5,000; S2: 1 km square 5 km east, population unknown.
    return gpd.GeoDataFrame(
        {"code": ["S1", "S2"], "nom": ["Carré 1", "Carré 2"], "population": [5000.0, np.nan]},
        geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000), box(X0 + 5000, Y0, X0 + 6000, Y0 + 1000)],
        crs=2154,
    )


def squares():
    return PreparedLayer.build(square_frame().to_crs(4326))


def points(*xy):
    return gpd.GeoSeries([Point(X0 + dx, Y0 + dy) for dx, dy in xy], crs=2154)


def test_inside_on_the_edge_within_and_just_beyond():
    actors = points(
        (500, 500),  # inside S1
        (1000, 500),  # on S1's edge: counts as inside
        (1900, 500),  # 900 m from S1: within 1 km
        (2100, 500),
    )  # 1,100 m from S1, 2,900 m from S2: beyond
    table = coverage_table(squares(), actors, distance_m=1000).set_index("code")
    assert table.loc["S1", "n_inside"] == 2 and table.loc["S1", "n_within"] == 3
    assert table.loc["S1", "distance_nearest_m"] == 0
    assert table.loc["S1", "per_10k"] == 6.0  # 3 actors for 5,000 inhabitants
    assert not table.loc["S1", "gap"]
    assert table.loc["S2", "n_inside"] == 0 and table.loc["S2", "n_within"] == 0
    assert table.loc["S2", "distance_nearest_m"] == 2900
    assert table.loc["S2", "gap"]
    assert np.isnan(table.loc["S2", "per_10k"])  # population unknown: no ratio, not zero


def test_a_prepared_layer_keeps_the_table_apart_from_the_geometries():
    layer = squares()
    assert_frame_equal(
        layer.frame, pd.DataFrame({"code": ["S1", "S2"], "nom": ["Carré 1", "Carré 2"], "population": [5000.0, np.nan]})
    )
    assert [(p.zone.epsg, p.rows.tolist(), p.frame.crs) for p in layer.parts] == [(2154, [0, 1], "EPSG:2154")]
    empty = PreparedLayer.build(square_frame().iloc[0:0])
    assert empty.parts == () and coverage_table(empty, points((0, 0))).empty


def test_no_actor_at_all():
    table = coverage_table(squares(), points(), distance_m=1000)
    assert table["gap"].all() and table["n_within"].eq(0).all()
    assert table["distance_nearest_m"].isna().all()
    assert (
        summary_sentence(table, "Carrés", "de thématique « IVG »", 1000)
        == "Carrés : 2 sur 2 n'ont aucun acteur de thématique « IVG » à moins de 1 km."
    )


def test_distance_is_adjustable():
    actors = points((2100, 500))
    assert coverage_table(squares(), actors, distance_m=1100)["n_within"].tolist() == [1, 0]
    assert coverage_table(squares(), actors, distance_m=1099)["n_within"].tolist() == [0, 0]


def test_outreach_covers_a_perimeter():
    zone = gpd.GeoSeries([box(X0 + 5500, Y0 + 200, X0 + 7000, Y0 + 300)], crs=2154)
    table = coverage_table(squares(), points(), outreach_zones=zone)
    assert table["outreach"].tolist() == [False, True]


def test_outreach_areas_are_projected_once_per_territory(monkeypatch):
    areas = OutreachAreas(gpd.GeoSeries([box(X0 + 5500, Y0 + 200, X0 + 7000, Y0 + 300)], crs=2154).to_crs(4326))
    layer = squares()
    assert coverage_table(layer, points(), outreach_zones=areas)["outreach"].tolist() == [False, True]

    def reprojected(*args, **kwargs):
        raise AssertionError("areas projected again at a rerun")

    monkeypatch.setattr(gpd.GeoSeries, "to_crs", reprojected)
    assert coverage_table(layer, points(), outreach_zones=areas)["outreach"].tolist() == [False, True]


def test_positions_measured_once_serve_table_and_matrix_without_projecting(monkeypatch):
    pts = points((500, 500), (5500, 500), (1900, 500))
    actors = positioned(
        gpd.GeoDataFrame(
            {"thematiques": [("ivg",), ("ist_vih", "ivg"), ("vif",)]},
            geometry=pts.to_crs(4326).values,
            crs=4326,
            index=[10, 11, 12],
        )
    )
    placed = Positions.of(actor_points(actors))
    layer = squares()

    def projected(*args, **kwargs):
        raise AssertionError("actors projected again at a rerun")

    monkeypatch.setattr(gpd.GeoSeries, "to_crs", projected)
    monkeypatch.setattr("reseaux.analyse.coverage.to_zone", projected)
    table = coverage_table(layer, placed.of_actors(actors.loc[[10, 11]]), distance_m=1000)
    assert table["n_within"].tolist() == [1, 1] and table["distance_nearest_m"].tolist() == [0, 0]
    matrix = theme_matrix(layer, actors, ["ivg", "vif"], {}, positions=placed)
    assert matrix.loc["Carré 1"].tolist() == [1, 1] and matrix.loc["Carré 2"].tolist() == [1, 0]
    with pytest.raises(ValueError, match="autre version"):  # positions of another directory: refused, not shifted
        placed.of_actors(actors.set_axis([10, 11, 13]))


def test_theme_matrix_and_summary():
    pts = points((500, 500), (5500, 500))
    actors = positioned(
        gpd.GeoDataFrame({"thematiques": [("ivg",), ("ist_vih", "ivg")]}, geometry=pts.to_crs(4326), crs=4326)
    )
    matrix = theme_matrix(squares(), actors, ["ivg", "ist_vih", "vif"], {"ivg": "IVG", "ist_vih": "IST", "vif": "VIF"})
    assert matrix.loc["Carré 1"].tolist() == [1, 0, 0] and matrix.loc["Carré 2"].tolist() == [1, 1, 0]
    table = coverage_table(squares(), pts)
    assert summary_sentence(table, "Carrés", "", 1000) == "Carrés : les 2 ont au moins un acteur à moins de 1 km."
    assert (
        summary_sentence(table.assign(gap=[True, False]), "QPV", "de thématique « IVG »", 500)
        == "QPV : 1 sur 2 n'a aucun acteur de thématique « IVG » à moins de 500 m."
    )


def test_classes():
    assert classes(pd.Series([0, 0, 1, 2, 3, 10])) == sorted(set(classes(pd.Series([0, 0, 1, 2, 3, 10]))))
    assert classes(pd.Series([np.nan])) == []
    assert classes(pd.Series([3, 3, np.nan])) == [3, 3]  # one value, one class


def test_cli_coverage_writes_the_table(tmp_path):
    out = tmp_path / "qpv.csv"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reseaux",
            "coverage",
            "--layer",
            "qpv",
            "--theme",
            "ivg",
            "--distance-m",
            "500",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out, dtype={"code": str})
    assert list(table.columns) == ["code", "nom", "n_inside", "n_within", "distance_nearest_m", "gap"]
    assert len(table) == 16 and table["code"].str.startswith("QN076").all()
    assert "QPV" in result.stderr and "« IVG »" in result.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "reseaux", "coverage", "--layer", "lune", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert bad.returncode == 2 and "couche inconnue" in bad.stderr


def test_counts_get_whole_number_classes():
    # quantiles 4, 5.6, 7.8, 10.6, 14.4, 20 rounded up to whole actors
    assert classes(pd.Series([13, 20, 9, 6, 4])) == [4, 6, 8, 11, 15, 20]
    assert all(b == int(b) for b in classes(pd.Series([0, 1, 2, 3, 50, 120])))
    assert classes(pd.Series([0.5, 1.25, 2.0])) == sorted(set(classes(pd.Series([0.5, 1.25, 2.0]))))


# --- what the sentence says --------------------------------------------------------------------


def test_the_sentence_says_and_between_facets_or_within_one(referential):
    assert filter_phrase(referential, ActorFilter()) == ""
    assert (
        filter_phrase(referential, ActorFilter(themes=("ivg",), professions=("sage_femme",)))
        == "de thématique « IVG » et de profession « Sage-femme »"
    )
    assert (
        filter_phrase(referential, ActorFilter(themes=("ivg", "contraception")))
        == "de thématique « IVG » ou « Contraception »"
    )
    assert (
        filter_phrase(
            referential,
            ActorFilter(themes=("ivg",), professions=("sage_femme", "gynecologue"), types=("professionnel",)),
        )
        == "de thématique « IVG », de profession « Sage-femme » ou « Gynécologue » et de type « Professionnel·le »"
    )


def test_sentence_numbers_and_distances_in_french():
    table = pd.DataFrame({"gap": [True] * 2_600 + [False] * 44})
    assert (
        summary_sentence(table, "Communes de Normandie", "", 1500)
        == "Communes de Normandie : 2\u202f600 sur 2\u202f644 n'ont aucun acteur à moins de 1,5 km."
    )
    assert (
        summary_sentence(table.head(1).assign(gap=False), "CLS", "", 0)
        == "CLS : le seul périmètre a au moins un acteur à moins de 0 m."
    )
    assert summary_sentence(table.head(0), "CLS", "", 100) == "CLS : aucun périmètre dans cette couche."


# --- legend ----------------------------------------------------------------------------------


def test_legend_labels_french_numbers_with_units():
    assert class_labels(MEASURES["n_within"], [1, 2, 4, 9]) == ["1 à 2 acteurs", "3 à 4 acteurs", "5 à 9 acteurs"]
    assert class_labels(MEASURES["n_within"], [0, 1, 2]) == ["0 à 1 acteur", "2 acteurs"]
    assert class_labels(MEASURES["n_within"], [1, 1]) == ["1 acteur"]
    assert class_labels(MEASURES["distance_nearest_m"], [0, 350, 24877]) == ["≤ 350 m", "> 350 à 24\u202f877 m"]
    assert class_labels(MEASURES["per_10k"], [0.01, 0.05, 1.25]) == [
        "≤ 0,05 acteur pour 10\u202f000 hab.",
        "> 0,05 à 1,25 acteur pour 10\u202f000 hab.",
    ]


def test_legend_shows_only_what_is_on_the_map():
    legend = coverage_legend_html(MEASURES["n_within"], [1, 2, 4, 9], "manque", present={0, 2}, gaps=False)
    assert "1 à 2 acteurs" in legend and "5 à 9 acteurs" in legend and "3 à 4" not in legend
    assert "manque" not in legend and "sans valeur" not in legend
    assert "sans valeur" in coverage_legend_html(MEASURES["per_10k"], [], "manque", present=set(), missing=True)


def test_map_styles_gaps_apart_and_keeps_classes_for_the_rest():
    shapes = square_frame().to_crs(4326)
    actors = points((500, 500), (600, 500))
    table = coverage_table(PreparedLayer.build(shapes), actors)
    geojson = shapes[["code", "nom", "geometry"]].__geo_interface__
    fmap = coverage_base_map(shapes_json(geojson), shapes.total_bounds)  # as the page does, in one map
    coverage_overlay(
        table,
        "n_within",
        MEASURES["n_within"],
        classes(table["n_within"].where(~table["gap"])),
        title="Acteurs à moins de 1 km",
        within_label="Acteurs à moins de 1 km",
        gap_label="manque : aucun acteur à moins de 1 km",
    ).add_to(fmap)
    page = fmap.get_root().render()
    assert '"rx_i":1' in page and "Carré 2" in page
    assert "2 acteurs" in page and "manque : aucun acteur à moins de 1 km" in page
    assert "≤" not in page.split("rxCoverageShapes")[-1]  # counts read « 2 acteurs », not « ≤ 2 »


# --- exports ---------------------------------------------------------------------------------


def demo_table():
    layer = PreparedLayer.build(square_frame().assign(population=[2159.0, np.nan]))
    table = coverage_table(layer, points((500, 500), (1900, 500)), distance_m=1000)
    return readable_table(table, 1000)  # per_10k: 2 / 2,159 × 10,000 = 9.26


def test_csv_for_french_excel_writes_numbers_right():
    text = table_csv_bytes(demo_table()).decode("utf-8-sig")
    header, first, second = text.splitlines()
    assert header.split(";")[:6] == [
        "Code",
        "Nom",
        "Acteurs dans le périmètre",
        "Acteurs à moins de 1 km (dedans compris)",
        "Population (habitants)",
        "Acteurs pour 10 000 habitants",
    ]
    assert first.split(";") == ["S1", "Carré 1", "1", "2", "2159", "9,26", "0", "non", "non"]
    assert second.split(";") == ["S2", "Carré 2", "0", "0", "", "", "3100", "non", "oui"]
    assert "None" not in text and "nan" not in text and ".0" not in text
    back = pd.read_csv(io.StringIO(text), sep=";", decimal=",")
    assert back["Population (habitants)"].tolist()[0] == 2159 and back["Acteurs pour 10 000 habitants"][0] == 9.26


def test_csv_writer_on_any_numbers():
    table = pd.DataFrame(
        {
            "entier": [2159.0, np.nan],
            "décimal": [0.05, -1.5],
            "texte": [None, "=1+1"],
            "vrai": [True, False],
            "mêlé": [3.0, 0.25],
        }
    ).astype({"mêlé": object})
    rows = [line.split(";") for line in table_csv_bytes(table).decode("utf-8-sig").splitlines()]
    assert rows[1] == ["2159", "0,05", "", "oui", "3"] and rows[2] == ["", "-1,5", "'=1+1", "non", "0,25"]


def test_excel_keeps_real_numbers():
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(table_xlsx_bytes(demo_table(), "Couverture"))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:7] == ("S1", "Carré 1", 1, 2, 2159, 9.26, 0)
    assert rows[2][4] is None and rows[2][5] is None and rows[2][6] == 3100


def test_actors_measured_a_few_at_a_time_give_the_same_table_and_matrix(monkeypatch):
    """A million actors are measured :data:`MEASURED_AT_ONCE` at a time (their points and tree were
    0.3 GB at once): the counts are added, the nearest is the least of each part's — the answer of
    all at once, and the distances those shapely gives point by point."""
    from reseaux.analyse import coverage

    rng = np.random.default_rng(7)
    xy = rng.uniform([-3000, -2000], [9000, 3000], size=(53, 2))
    pts = points(*map(tuple, xy))
    actors = positioned(
        gpd.GeoDataFrame(
            {"thematiques": [("ivg",) if i % 3 else ("vif", "ivg") for i in range(len(xy))]},
            geometry=pts.to_crs(4326).values,
            crs=4326,
        )
    )
    layer = squares()
    whole_table = coverage_table(layer, pts, distance_m=800)
    whole_matrix = theme_matrix(layer, actors, ["ivg", "vif"], {}, distance_m=800)
    monkeypatch.setattr(coverage, "MEASURED_AT_ONCE", 4)
    assert_frame_equal(coverage_table(layer, pts, distance_m=800), whole_table)
    assert_frame_equal(theme_matrix(layer, actors, ["ivg", "vif"], {}, distance_m=800), whole_matrix)
    truth = [min(square.distance(p) for p in pts) for square in square_frame().geometry]
    np.testing.assert_allclose(whole_table["distance_nearest_m"], np.round(truth), atol=1)
    assert whole_table["n_within"].sum() > whole_table["n_inside"].sum() > 0  # actors counted, not empty tables
