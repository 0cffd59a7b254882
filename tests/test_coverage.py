"""Coverage on two square perimeters and actors placed at known distances (Lambert-93)."""

import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point, box

from reseaux.coverage import PreparedLayer, classes, coverage_table, summary_sentence, theme_matrix
from tests.conftest import ROOT

X0, Y0 = 562000.0, 6928000.0


def squares():
    # S1: 1 km square with population 5,000; S2: 1 km square 5 km east, population unknown.
    frame = gpd.GeoDataFrame({"code": ["S1", "S2"], "nom": ["Carré 1", "Carré 2"], "population": [5000.0, np.nan]},
                             geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000), box(X0 + 5000, Y0, X0 + 6000, Y0 + 1000)],
                             crs=2154)
    return PreparedLayer.build(frame.to_crs(4326))


def points(*xy):
    return gpd.GeoSeries([Point(X0 + dx, Y0 + dy) for dx, dy in xy], crs=2154)


def test_inside_on_the_edge_within_and_just_beyond():
    actors = points((500, 500),      # inside S1
                    (1000, 500),     # on S1's edge: counts as inside
                    (1900, 500),     # 900 m from S1: within 1 km
                    (2100, 500))     # 1,100 m from S1, 2,900 m from S2: beyond
    table = coverage_table(squares(), actors, distance_m=1000).set_index("code")
    assert table.loc["S1", "n_inside"] == 2 and table.loc["S1", "n_within"] == 3
    assert table.loc["S1", "distance_nearest_m"] == 0
    assert table.loc["S1", "per_10k"] == 6.0  # 3 actors for 5,000 inhabitants
    assert not table.loc["S1", "gap"]
    assert table.loc["S2", "n_inside"] == 0 and table.loc["S2", "n_within"] == 0
    assert table.loc["S2", "distance_nearest_m"] == 2900
    assert table.loc["S2", "gap"]
    assert np.isnan(table.loc["S2", "per_10k"])  # population unknown: no ratio, not zero


def test_no_actor_at_all():
    table = coverage_table(squares(), points(), distance_m=1000)
    assert table["gap"].all() and table["n_within"].eq(0).all()
    assert table["distance_nearest_m"].isna().all()
    assert summary_sentence(table, "Carrés", "« IVG »", 1000) == "2 « Carrés » sur 2 n'ont aucun acteur « IVG » à moins de 1 km."


def test_distance_is_adjustable():
    actors = points((2100, 500))
    assert coverage_table(squares(), actors, distance_m=1100)["n_within"].tolist() == [1, 0]
    assert coverage_table(squares(), actors, distance_m=1099)["n_within"].tolist() == [0, 0]


def test_outreach_covers_a_perimeter():
    zone = gpd.GeoSeries([box(X0 + 5500, Y0 + 200, X0 + 7000, Y0 + 300)], crs=2154)
    table = coverage_table(squares(), points(), outreach_zones=zone)
    assert table["outreach"].tolist() == [False, True]


def test_theme_matrix_and_summary():
    pts = points((500, 500), (5500, 500))
    actors = gpd.GeoDataFrame({"thematiques": [("ivg",), ("ist_vih", "ivg")]}, geometry=pts.to_crs(4326), crs=4326)
    matrix = theme_matrix(squares(), actors, ["ivg", "ist_vih", "vif"], {"ivg": "IVG", "ist_vih": "IST", "vif": "VIF"})
    assert matrix.loc["Carré 1"].tolist() == [1, 0, 0] and matrix.loc["Carré 2"].tolist() == [1, 1, 0]
    table = coverage_table(squares(), pts)
    assert summary_sentence(table, "Carrés", "", 1000) == "Tous les périmètres « Carrés » (2) ont au moins un acteur à moins de 1 km."
    assert summary_sentence(table.assign(gap=[True, False]), "QPV", "« IVG »", 500) == \
        "1 « QPV » sur 2 n'a aucun acteur « IVG » à moins de 500 m."


def test_classes():
    assert classes(pd.Series([0, 0, 1, 2, 3, 10])) == sorted(set(classes(pd.Series([0, 0, 1, 2, 3, 10]))))
    assert classes(pd.Series([np.nan])) == [0.0, 1.0]


def test_cli_coverage_writes_the_table(tmp_path):
    out = tmp_path / "qpv.csv"
    result = subprocess.run([sys.executable, "-m", "reseaux", "coverage", "--layer", "qpv", "--theme", "ivg",
                             "--distance-m", "500", "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out, dtype={"code": str})
    assert list(table.columns) == ["code", "nom", "n_inside", "n_within", "distance_nearest_m", "gap"]
    assert len(table) == 16 and table["code"].str.startswith("QN076").all()
    assert "QPV" in result.stderr and "« IVG »" in result.stderr
    bad = subprocess.run([sys.executable, "-m", "reseaux", "coverage", "--layer", "lune", "--out", str(out)],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "couche inconnue" in bad.stderr


def test_counts_get_whole_number_classes():
    # quantiles 4, 5.6, 7.8, 10.6, 14.4, 20 rounded up to whole actors
    assert classes(pd.Series([13, 20, 9, 6, 4])) == [4, 6, 8, 11, 15, 20]
    assert all(b == int(b) for b in classes(pd.Series([0, 1, 2, 3, 50, 120])))
    assert classes(pd.Series([0.5, 1.25, 2.0])) == sorted(set(classes(pd.Series([0.5, 1.25, 2.0]))))
