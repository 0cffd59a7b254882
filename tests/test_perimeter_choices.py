"""« Dans le périmètre » offers the perimeters of the territory and of the directory, each with its
layer's label — never the 1,255 EPCI of France. Right answers computed apart: by areas in
Lambert-93 on the layer files, or by the national commune table."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from reseaux.app_data import load_territory
from reseaux.territoire import france
from reseaux.territoire.territory import load as load_network
from tests.conftest import DATA, ROOT

PACA_SITES = DATA / "real" / "france_services_paca_2020.csv"


def _paca_actors() -> pd.DataFrame:
    """The 62 real France services sites of PACA at their published positions (as the directory holds them)."""
    table = pd.read_csv(PACA_SITES, dtype=str, keep_default_na=False)
    return table.assign(latitude=table["LATITUDE"].astype(float), longitude=table["LONGITUDE"].astype(float))


def _sharing_surface(path, where: dict, territory: gpd.GeoSeries, code: str) -> set[str]:
    """Codes of the perimeters of ``path`` that cover more than 1 % of their own area with the territory
    (Lambert-93 areas: the way a person would check it in QGIS)."""
    frame = gpd.read_file(path)
    for column, value in where.items():
        frame = frame[frame[column].astype(str) == value]
    frame = frame.to_crs(2154)
    home = territory.to_crs(2154).union_all()
    share = frame.geometry.intersection(home).area / frame.geometry.area
    return set(frame.loc[share > 0.01, code].astype(str))


def test_the_demo_offers_its_territory_and_not_the_far_perimeters_of_a_directory_elsewhere(territory):
    """The Rouen demo with a PACA directory: no actor lies in a Normandy perimeter, so each layer
    offers what shares surface with the Métropole — the EPCI « Métropole Rouen Normandie » alone
    of the EPCI of Normandy, every QPV of the Métropole."""
    layer_ids = ["qpv", "cpts", "epci"]
    options = territory.perimeter_options(layer_ids, _paca_actors())
    labels = {s.id: s.label for s in territory.specs}
    assert all(name.startswith(f"{labels[key.partition(':')[0]]} — ") for key, name in options.items())
    communes = gpd.read_file(ROOT / "geo" / "communes_normandie.geojson")
    metropole = communes[communes["epci_siren"] == "200023414"].geometry
    expected = {
        "epci": _sharing_surface(ROOT / "geo" / "epci_normandie.geojson", {}, metropole, "epci_siren"),
        "qpv": _sharing_surface(ROOT / "geo" / "qpv2024_metropole_rouen.geojson", {}, metropole, "code_qp"),
    }
    assert expected["epci"] == {"200023414"}
    for layer_id, codes in expected.items():
        assert {k.partition(":")[2] for k in options if k.startswith(f"{layer_id}:")} == codes
    assert len(territory.layers["epci"]) > 60  # the layer holds every EPCI of Normandy


def test_a_layer_far_from_the_territory_offers_the_perimeters_its_actors_stand_in(territory):
    """The same demo, the EPCI where two real PACA sites stand added to the directory's points
    by hand — Le Havre (76351, EPCI Le Havre Seine Métropole) and Évreux (27229): their EPCI are
    offered too, and only them beyond the Métropole."""
    table = france.communes().set_index("code_insee")
    sites = pd.DataFrame(
        {
            "longitude": pd.to_numeric(table.loc[["76351", "27229"], "point_lon"]).to_numpy(),
            "latitude": pd.to_numeric(table.loc[["76351", "27229"], "point_lat"]).to_numpy(),
        }
    )
    actors = pd.concat([_paca_actors(), sites], ignore_index=True)
    options = territory.perimeter_options(["epci"], actors)
    assert {k.partition(":")[2] for k in options} == {"200023414", *table.loc[["76351", "27229"], "epci_siren"]}


@pytest.fixture(scope="module")
def bouches_du_rhone(tmp_path_factory):
    """A network of the Bouches-du-Rhône without a registry: the map draws its communes, EPCI and
    QPV 2024 from the national data (the setting of the testers' 1,331 choices)."""
    folder = tmp_path_factory.mktemp("bdr")
    (folder / "territoire.toml").write_text(
        'titre = "Réseau 13"\n[territoire]\nnom = "Bouches-du-Rhône"\ndepartements = ["13"]\n', encoding="utf-8"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("RESEAUX_LAYERS", raising=False)
        return load_territory(network=load_network(folder / "territoire.toml"))


def test_a_territory_without_registry_offers_its_own_epci_not_those_of_france(bouches_du_rhone):
    options = bouches_du_rhone.perimeter_options(["qpv", "epci"], _paca_actors())
    epci = {k.partition(":")[2] for k in options if k.startswith("epci:")}
    table = france.communes()
    assert epci == set(table.loc[table["code_insee"].str.startswith("13"), "epci_siren"]) - {""}
    assert len(epci) < 10
    assert all(name.startswith(("Intercommunalités (EPCI) — ", "QPV 2024 — ")) for name in options.values())
    assert all(k.partition(":")[0] in ("qpv", "epci") for k in options)


def test_couverture_opens_on_a_layer_that_holds_the_directory(territory, tmp_path, monkeypatch):
    """The demo's registry with the QPV 2015 of Marseille added, and the 62 real PACA sites: no site
    stands in a Normandy perimeter, one in a QPV of Marseille (« Bon Secours St Gabriel », in QP013049:
    counted below with shapely, point by point, on the published positions); with the demo's own
    actors, the QPV of the Métropole stay."""
    import shutil

    from shapely.geometry import Point

    from reseaux.cli import main

    geo = tmp_path / "geo"
    shutil.copytree(ROOT / "geo", geo)
    monkeypatch.setenv("RESEAUX_GEO_DIR", str(geo))
    monkeypatch.setenv("RESEAUX_LAYERS", str(geo / "layers.toml"))
    assert (
        main(
            [
                "layers",
                "add",
                str(DATA / "real" / "qpv2015_arrondissement_marseille_13.gpkg"),
                "--id",
                "qpv_marseille",
                "--code-field",
                "CODE_QP",
                "--name-field",
                "NOM_QP",
            ]
        )
        == 0
    )
    with_marseille = load_territory()
    polygons = [s.id for s in with_marseille.specs if not (with_marseille.layers[s.id].geom_type == "Point").all()]
    sites = _paca_actors()
    qpv = gpd.read_file(DATA / "real" / "qpv2015_arrondissement_marseille_13.gpkg").to_crs(4326).geometry
    inside = sum(
        any(shape.buffer(0).intersects(Point(x, y)) for shape in qpv)
        for x, y in zip(sites["longitude"], sites["latitude"], strict=True)
    )
    assert inside == 1
    assert with_marseille.covering_layer(polygons, sites) == "qpv_marseille"
    from reseaux.carte.perimeters import PlacedPoints, points_held

    assert points_held(with_marseille.layers["qpv_marseille"], PlacedPoints.of(sites)) == inside
    demo = pd.read_csv(ROOT / "data" / "actors.csv", dtype=str, keep_default_na=False)
    demo = demo.assign(latitude=demo["latitude"].astype(float), longitude=demo["longitude"].astype(float))
    assert with_marseille.covering_layer(polygons, demo) == "qpv"


def test_the_choices_are_kept_for_a_directory_without_keeping_the_directory(territory):
    """The sidebar asks at every run: the answer is kept for the frame it was reckoned of, but the
    frame is not held for it (a version of the directory a save replaced stayed in each server's
    memory through it), and a frame made since is not answered from the one gone."""
    import gc
    import weakref

    actors = _paca_actors()
    first = territory.perimeter_options(["epci"], actors)
    assert territory.perimeter_options(["epci"], actors) is first  # kept
    gone = weakref.ref(actors)
    del actors
    gc.collect()
    assert gone() is None
    elsewhere = pd.DataFrame({"latitude": [49.49], "longitude": [0.11]})  # Le Havre
    assert territory.perimeter_options(["epci"], elsewhere) != first
    assert territory.perimeter_options(["epci"], None) == territory.perimeter_options(["epci"], None)


def test_a_perimeter_reaching_into_the_territory_is_offered_without_an_actor_in_it():
    """A perimeter holding communes of the territory but drawn mostly outside it (its own inner
    point far from the Métropole, as a département-wide CPTS): offered because it holds the inner
    point of a commune of the territory — read from the national commune table here — even when
    no actor stands in it; one far away is not."""
    from shapely.geometry import Point, box

    territory = load_territory()
    reaching, far = box(-3.0, 49.2, 1.15, 49.7), box(5.2, 43.2, 5.5, 43.4)  # west of Rouen; Marseille
    communes = france.communes()
    home = communes[communes["code_insee"].isin(territory.home_communes)]
    inner = [Point(float(x), float(y)) for x, y in zip(home["point_lon"], home["point_lat"], strict=True)]
    assert any(reaching.contains(p) for p in inner)  # it holds communes of the Métropole
    assert not territory.home_areas.intersects(reaching.representative_point()).any()  # its own inner point: outside
    territory.layers["cpts"] = gpd.GeoDataFrame(
        {"code": ["GRAND", "LOIN"], "nom": ["Grande (fictive)", "Lointaine (fictive)"]},
        geometry=[reaching, far],
        crs="EPSG:4326",
    )
    options = territory.perimeter_options(["cpts"], None)
    assert {key.partition(":")[2] for key in options} == {"GRAND"}
