"""The demo directory generator (src/reseaux/annuaire/demo.py) and the committed data/actors.csv."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from reseaux.annuaire.demo import make_demo_actors, qpv_share, write_demo_actors
from reseaux.annuaire.directory import load_directory
from reseaux.annuaire.referential import load_referential
from reseaux.config import PROJECT_ROOT

ACTORS = PROJECT_ROOT / "data" / "actors.csv"
REFERENTIAL = load_referential(PROJECT_ROOT / "data" / "referentiel.csv")


@pytest.fixture(scope="module")
def actors() -> pd.DataFrame:
    return make_demo_actors()


def _values(column: pd.Series) -> set[str]:
    return {v for cell in column for v in cell.split("|") if v}


def test_deterministic_and_committed_file_is_the_generator_output(actors, tmp_path):
    pd.testing.assert_frame_equal(actors, make_demo_actors())
    write_demo_actors(tmp_path / "actors.csv")
    assert ACTORS.read_bytes() == (tmp_path / "actors.csv").read_bytes(), (
        "data/actors.csv differs from the generator: run `make demo` instead of editing it by hand"
    )


def test_content(actors):
    assert len(actors) == 185 and actors["id"].is_unique
    assert set(actors["fictif"]) == {"oui"}
    # The demo uses the four broad types and the first themes and professions of the
    # referential; the field vocabulary added since (PrEP, pharmacie, IPA…) is for real files.
    assert set(actors["type"]) == {"structure", "professionnel", "aller_vers", "distribution"}
    assert _values(actors["profession"]) == set(REFERENTIAL.codes("profession")[:11])
    assert _values(actors["thematiques"]) == set(REFERENTIAL.codes("thematique")[:12])
    outreach = actors[actors["type"] == "aller_vers"]
    assert len(outreach) >= 6 and (outreach["zone_intervention"] != "").all()


def test_loads_without_error():
    directory = load_directory(ACTORS, REFERENTIAL)
    assert directory.errors == [] and len(directory.actors) == 185
    assert [str(w) for w in directory.warnings] == []


def test_every_point_is_inside_its_commune(actors):
    communes = gpd.read_file(PROJECT_ROOT / "geo" / "communes_normandie.geojson").set_index("code_insee")
    points = gpd.points_from_xy(actors["longitude"].astype(float), actors["latitude"].astype(float), crs=4326)
    polygons = gpd.GeoSeries(communes.geometry.loc[actors["code_insee"]].values, crs=communes.crs)
    outside = actors.loc[~polygons.contains(gpd.GeoSeries(points), align=False).values, ["id", "commune"]]
    assert outside.empty, outside


def test_share_near_a_qpv(actors):
    qpv = gpd.read_file(PROJECT_ROOT / "geo" / "qpv2024_metropole_rouen.geojson").to_crs(2154).union_all()
    points = gpd.GeoSeries(
        gpd.points_from_xy(actors["longitude"].astype(float), actors["latitude"].astype(float), crs=4326)
    ).to_crs(2154)
    share = (points.distance(qpv) <= 300).mean()
    assert 0.30 <= share <= 0.50
    assert qpv_share(actors) == pytest.approx(share)


def test_contacts_are_fictional(actors):
    assert actors["telephone"].str.fullmatch(r"02 61 91 \d\d \d\d").all()
    assert actors["email"].str.endswith("@example.org").all()
    assert actors["description"].str.endswith("(fiche fictive)").all()
