"""Nearest partners on hand-placed actors whose distances are known by construction."""

import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from reseaux.analyse.filters import ActorFilter, search_text
from reseaux.analyse.proximity import (
    ProximityIndex,
    containing_perimeters,
    directions_links,
    nearest,
    outreach_covering,
    partners,
    perimeter_sentence,
    search,
)
from reseaux.territoire.layers import load_layers, load_registry
from reseaux.territoire.metric import GeographicCRSError, check_metric_crs
from tests.conftest import DATA, ROOT, positioned

X0, Y0 = 562500.0, 6928500.0  # centre of square commune A (Lambert-93)


def actors():
    offsets = {"a": (100, 0), "b": (0, 300), "c": (3000, 4000), "d": (-300, 0), "e": (0, 0)}
    points = gpd.GeoSeries([Point(X0 + dx, Y0 + dy) for dx, dy in offsets.values()], crs=2154).to_crs(4326)
    frame = gpd.GeoDataFrame(
        {
            "id": list(offsets),
            "nom": [f"Acteur {k}" for k in offsets],
            "type": ["professionnel", "structure", "professionnel", "professionnel", "aller_vers"],
            "profession": ["sage_femme", "", "sage_femme", "medecin_generaliste", ""],
            "thematiques": [("ivg",), ("ivg", "ist_vih"), ("ivg",), ("contraception",), ("ist_vih",)],
            "modalites": [("sur_rdv",), ("sans_rdv",), ("sans_rdv",), (), ()],
            "zone_intervention": [(), (), (), (), ("S1", "00002")],
            "code_insee": ["00001"] * 5,
        },
        geometry=points,
        crs=4326,
    )
    # One actor without a position: never in a result.
    return positioned(
        gpd.GeoDataFrame(
            gpd.pd.concat(
                [
                    frame,
                    gpd.GeoDataFrame(
                        {
                            "id": ["z"],
                            "nom": ["Sans position"],
                            "type": ["structure"],
                            "profession": [""],
                            "thematiques": [("ivg",)],
                            "modalites": [()],
                            "zone_intervention": [()],
                            "code_insee": [""],
                        },
                        geometry=[None],
                        crs=4326,
                    ),
                ]
            ),
            crs=4326,
        ).reset_index(drop=True)
    )


def origin():
    point = gpd.GeoSeries([Point(X0, Y0)], crs=2154).to_crs(4326).iloc[0]
    return point.y, point.x


def test_exact_distances_and_order():
    index = ProximityIndex.build(actors())
    lat, lon = origin()
    found = nearest(index, lat, lon, k=10, radius_m=None)
    assert list(found["id"]) == ["e", "a", "b", "d", "c"]
    assert list(found["distance_m"]) == [0, 100, 300, 300, 5000]  # b and d tie: directory order


def test_k_and_radius_edges():
    index = ProximityIndex.build(actors())
    lat, lon = origin()
    assert list(nearest(index, lat, lon, k=2)["id"]) == ["e", "a"]
    assert list(nearest(index, lat, lon, k=10, radius_m=300)["id"]) == ["e", "a", "b", "d"]  # 300 m included
    assert list(nearest(index, lat, lon, k=10, radius_m=299)["id"]) == ["e", "a"]
    assert list(nearest(index, lat, lon, k=10, radius_m=5000)["id"])[-1] == "c"
    assert nearest(index, 49.0, 1.0, k=3, radius_m=1000).empty
    with pytest.raises(ValueError):
        nearest(index, lat, lon, k=0)


def test_filters_and_what_empties_the_list(referential):
    index = ProximityIndex.build(actors())
    lat, lon = origin()
    result = search(index, lat, lon, ActorFilter(themes=("ivg",), professions=("sage_femme",)), referential)
    assert list(result.actors["id"]) == ["a", "c"]
    result = search(index, lat, lon, ActorFilter(themes=("ivg",), modalites=("sans_rdv",)), referential, radius_m=1000)
    assert list(result.actors["id"]) == ["b"]
    # No sage-femme « sans rendez-vous » within 1 km: the modality is what empties the list.
    result = search(
        index, lat, lon, ActorFilter(professions=("sage_femme",), modalites=("sans_rdv",)), referential, radius_m=1000
    )
    assert result.actors.empty
    assert result.blocking == ["professions", "modalites"]
    assert list(result.without_blocking["id"]) == ["b"]  # without « sage-femme »


def test_distances_are_refused_in_degrees():
    with pytest.raises(GeographicCRSError):
        check_metric_crs("EPSG:4326")
    check_metric_crs("EPSG:2154")


def test_perimeters_containing_the_point_and_outreach():
    specs = load_registry(DATA / "geo" / "layers.toml")
    layers = load_layers(specs, DATA / "geo")
    lat, lon = origin()
    found = containing_perimeters(lat, lon, layers, specs)
    assert [(s.id, code) for s, code, _ in found] == [("carres", "S1"), ("table", "Périmètre P")]
    frame = actors()
    assert list(outreach_covering(frame, "00009", {"S1"})["id"]) == ["e"]
    assert list(outreach_covering(frame, "00002", set())["id"]) == ["e"]
    assert outreach_covering(frame, "00001", set()).empty


def test_perimeter_sentence_on_the_real_layers():
    specs = load_registry(ROOT / "geo" / "layers.toml")
    layers = load_layers(specs, ROOT / "geo")
    # A point inside the QPV « Les Hauts de Rouen »
    qpv = layers["qpv"].set_index("code").loc["QN07620M", "geometry"]
    point = qpv.representative_point()
    sentence = perimeter_sentence(containing_perimeters(point.y, point.x, layers, specs))
    assert sentence.startswith("Ce point est dans le QPV Les Hauts de Rouen, ")
    assert "la CPTS Rouen Centre et Plateaux Nord (exemple)" in sentence
    assert "l'UTAS Agglomération de Rouen (exemple)" in sentence
    assert "le CLS Métropole Rouen Normandie" in sentence and "l'ASV Rouen" in sentence
    assert perimeter_sentence(containing_perimeters(48.0, -4.0, layers, specs)) == ""


def test_directions_links():
    links = directions_links(49.44, 1.09, 49.45, 1.10)
    assert links["OpenStreetMap"].startswith("https://www.openstreetmap.org/directions?")
    assert "destination=49.45000,1.10000" in links["Google Maps"]


def test_cli_nearest_prints_csv_in_increasing_distance():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reseaux",
            "nearest",
            "--lat",
            "49.4431",
            "--lon",
            "1.0993",
            "--theme",
            "ivg",
            "-k",
            "5",
            "--radius-km",
            "3",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "id,nom,distance_m" and len(lines) == 6
    distances = [int(line.rsplit(",", 1)[1]) for line in lines[1:]]
    assert distances == sorted(distances) and distances[-1] <= 3000
    bad = subprocess.run(
        [sys.executable, "-m", "reseaux", "nearest", "--lat", "49.4", "--lon", "1.1", "--theme", "astronomie"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert bad.returncode == 2 and "inconnu" in bad.stderr


def test_index_ignores_actors_without_position():
    index = ProximityIndex.build(actors())
    assert len(index.frame) == 5 and "z" not in set(index.frame["id"])
    assert np.isfinite(index.x).all()
    # An index without the actors' territories and positions could only answer nothing: it cannot be made.
    with pytest.raises(TypeError):
        ProximityIndex(index.frame, index.x, index.y, index.text)


def described_actors():
    frame = actors()
    frame["structure"] = ["Cabinet A (fictif)", "", "", "", "", ""]
    frame["specialites"] = [("IVG médicamenteuse", "Pose de DIU"), (), ("IVG instrumentale",), (), (), ()]
    frame["description"] = ["", "Centre de planification", "", "", "", ""]
    frame["publics"] = [("jeunes",), (), (), (), (), ()]
    frame["accessibilite"] = [("pmr", "lsf"), (), (), (), (), ()]
    frame["langues"] = [("français", "anglais"), (), (), (), (), ()]
    frame["adresse"], frame["code_postal"], frame["commune"] = "1 rue Fictive", "76000", "Rouen"
    frame["telephone"] = ["02 61 91 00 01", "", "", "", "", ""]
    frame["email"] = ["a@example.org", "", "", "", "", ""]
    frame["site_web"] = ["https://example.org/a", "javascript:alert(1)", "", "", "", ""]
    frame["geocodage_source"] = ["", "commune", "", "", "", ""]
    return frame


def test_free_text_search_goes_through_the_index(referential):
    frame = described_actors()
    index = ProximityIndex.build(frame, search_text(frame))
    lat, lon = origin()
    found = search(index, lat, lon, ActorFilter(text="ivg medicamenteuse"), referential, radius_m=None)
    assert list(found.actors["id"]) == ["a"]  # « IVG instrumentale » (c) lacks the second word
    assert list(search(index, lat, lon, ActorFilter(text="PLANIFICATION"), referential).actors["id"]) == ["b"]
    # Without the folded text given, the index folds it itself, to the same answer.
    assert list(
        search(
            ProximityIndex.build(frame), lat, lon, ActorFilter(text="Médicamenteuse"), referential, radius_m=None
        ).actors["id"]
    ) == ["a"]


def test_a_result_reads_as_labels_with_every_link(referential):
    index = ProximityIndex.build(described_actors())
    lat, lon = origin()
    first, second = partners(nearest(index, lat, lon, k=3)[lambda f: f["id"].isin(["a", "b"])], referential, (lat, lon))
    assert (first.number, first.name, first.role, first.distance) == (1, "Acteur a", "Sage-femme", "100 m")
    assert dict(first.details()) == {
        "Thématiques": "IVG",
        "Spécialités et formations": "IVG médicamenteuse, Pose de DIU",
        "Modalités": "Sur rendez-vous",
        "Publics": "Jeunes (moins de 26 ans)",
        "Accessibilité": "Accessible PMR, Langue des signes (LSF)",
        "Langues": "français, anglais",
    }
    assert first.phone_uri == "tel:0261910001" and first.website == "https://example.org/a"
    assert first.address == "1 rue Fictive 76000 Rouen" and not first.approximate
    assert f"destination={first.latitude:.5f},{first.longitude:.5f}" in first.directions["Google Maps"]
    assert f"route={lat:.5f}%2C{lon:.5f}" in first.directions["OpenStreetMap"]
    assert second.role == "Structure" and second.website == "" and second.approximate  # never a javascript: link


def test_a_layer_added_by_the_network_is_named_by_its_label():
    from reseaux.territoire.layers import LayerSpec

    added = LayerSpec(id="qpv_marseille", label="QPV 2015 (Marseille)", kind="file", file="x.geojson")
    communes = LayerSpec(id="communes", label="Communes", kind="file", file="c.geojson", group="Territoire")
    qpv = LayerSpec(id="qpv", label="QPV", kind="file", file="q.geojson", article="le QPV")
    sentence = perimeter_sentence(
        [(qpv, "QN1", "Les Hauts"), (added, "QP013058", "La Cabucelle"), (communes, "13055", "Marseille")]
    )
    assert sentence == "Ce point est dans le QPV Les Hauts et QPV 2015 (Marseille) : La Cabucelle."


def test_an_index_of_placed_actors_shares_their_rows_and_projects_as_geopandas_does():
    """Every actor placed: the index holds the directory's own rows (no copy of a million), and
    its metres are those of geopandas' own projection, in each actor's zone, mainland and overseas."""
    places = {  # lon, lat (town halls, rounded)
        "rouen": (1.0993, 49.4431),
        "saint_denis_reunion": (55.4481, -20.8789),
        "cayenne": (-52.3260, 4.9372),
        "fort_de_france": (-61.0733, 14.6036),
        "mamoudzou": (45.2279, -12.7806),
    }
    lon, lat = (np.array(values) for values in zip(*places.values(), strict=True))
    frame = gpd.GeoDataFrame(
        {"id": list(places), "nom": list(places), "latitude": lat, "longitude": lon},
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )
    index = ProximityIndex.build(frame)
    assert np.shares_memory(index.frame["latitude"].to_numpy(), frame["latitude"].to_numpy())
    assert len(set(index.epsg)) == 5  # five zones
    for row, code in enumerate(index.epsg):
        truth = frame.geometry.iloc[[row]].to_crs(int(code)).iloc[0]
        assert (index.x[row], index.y[row]) == pytest.approx((truth.x, truth.y), abs=1e-6)


def test_a_tie_at_the_kth_place_keeps_the_directorys_order():
    # Hospitals placed at their commune's town hall share one point: k cuts through the tie, and
    # those kept are the first in the directory (a selection's order kept t02 before t00 and t01).
    tied = [f"t{i:02d}" for i in range(40)]
    ids = ["proche", "moyen", *tied, "pres1", "pres2", "pres3"]
    frame = pd.DataFrame(
        {
            "id": ids,
            "nom": ids,
            "latitude": [49.4431, 49.44355, *[49.4441] * 40, *[49.4433] * 3],
            "longitude": [1.0993] * len(ids),
            **{column: "" for column in ("structure", "description", "specialites")},
        }
    )
    found = nearest(ProximityIndex.build(frame), 49.4431, 1.0993, k=6, radius_m=None)
    assert found["id"].tolist() == ["proche", "pres1", "pres2", "pres3", "moyen", "t00"]
    assert found["distance_m"].tolist() == [0, 22, 22, 22, 50, 111]


def test_trouver_filters_through_the_directorys_facet_index_with_the_same_answers(referential):
    # The page gives the directory, its facet index and its search text: the filters are applied
    # to the directory (its codes looked up) and taken at the index's rows. Actors without a
    # position lie between the others, so that the index's rows are not the directory's.
    from reseaux.analyse.filters import FacetIndex
    from tests.conftest import visible_demo

    demo = visible_demo(referential, "membre").reset_index(drop=True)
    unplaced = demo.iloc[::9].assign(latitude=np.nan, longitude=np.nan, id=lambda f: f["id"] + "-sans-position")
    directory = pd.concat([unplaced, demo]).sort_index(kind="stable").reset_index(drop=True)
    index = ProximityIndex.build(directory)
    assert len(index.frame) == len(demo) < len(directory)
    given = {"actors": directory, "facets": FacetIndex.build(directory), "search": search_text(directory)}
    radii = [1_000.0, 2_000.0, 5_000.0, 10_000.0, 20_000.0]
    searches = [
        ActorFilter(themes=("ivg",)),
        ActorFilter(types=("structure",), modalites=("sans_rdv", "gratuit")),
        ActorFilter(themes=("ivg",), modalites=("sans_rdv", "gratuit", "anonyme"), text="planning"),
        ActorFilter(professions=("sage_femme",), langues=("wolof",)),
        ActorFilter(themes=("ivg",), text="texte que nulle fiche ne porte"),  # the text empties the list
    ]
    ways_on = 0
    for flt in searches:
        plain = search(index, 49.4431, 1.0993, flt, referential, radius_m=2_000, radii_m=radii)
        through = search(index, 49.4431, 1.0993, flt, referential, radius_m=2_000, radii_m=radii, **given)
        for part in ("actors", "beyond", "without_blocking"):
            mine, truth = getattr(through, part), getattr(plain, part)
            assert (mine is None) == (truth is None), (flt, part)
            if truth is not None:
                assert mine["id"].tolist() == truth["id"].tolist(), (flt, part)
                assert mine["distance_m"].tolist() == truth["distance_m"].tolist(), (flt, part)
        assert (through.blocking, through.wider_m, through.sentence) == (plain.blocking, plain.wider_m, plain.sentence)
        ways_on += bool(plain.blocking)
        assert not any(through.actors["id"].str.endswith("-sans-position"))
    assert ways_on >= 1
