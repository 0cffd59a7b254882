"""Perimeter layers anyone can add: checked, repaired, declared; a broken layer never takes a
page down. On small files written here, whose right answers are known by construction."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from reseaux.app_data import load_territory
from reseaux.cli import main
from reseaux.territoire.add_layer import add_layer
from reseaux.territoire.layers import LayerError, read_registry
from tests.conftest import ROOT

# Three perimeters near Rouen: a bow-tie (made valid: two triangles), a square with a spike
# (made valid: a collection of a polygon and a line, whose line must go), a flat one (a line
# once made valid: nothing left, dropped).
BOW_TIE = [[1.08, 49.43], [1.12, 49.46], [1.12, 49.43], [1.08, 49.46], [1.08, 49.43]]
SPIKE = [[1.0, 49.40], [1.02, 49.40], [1.02, 49.42], [1.0, 49.42], [1.0, 49.40], [0.98, 49.40], [1.0, 49.40]]
FLAT = [[1.0, 49.0], [1.1, 49.0], [1.2, 49.0], [1.0, 49.0]]


def perimeters(
    path, features=((BOW_TIE, "01", "Nœud", "76"), (SPIKE, "02", "Pointe", "76"), (FLAT, "03", "Plat", "09"))
):
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"CODE_P": code, "NOM_P": name, "DEP": dep},
                        "geometry": {"type": "Polygon", "coordinates": [ring]},
                    }
                    for ring, code, name, dep in features
                ],
            }
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def geo(tmp_path, monkeypatch):
    """A copy of the demo's geo folder, used through the settings like the app does."""
    folder = tmp_path / "geo"
    shutil.copytree(ROOT / "geo", folder)
    monkeypatch.setenv("RESEAUX_GEO_DIR", str(folder))
    monkeypatch.setenv("RESEAUX_LAYERS", str(folder / "layers.toml"))
    return folder


def test_a_file_with_invalid_polygons_is_repaired_and_declared(geo, tmp_path, capsys):
    source = perimeters(tmp_path / "secteurs.geojson")
    before = (geo / "layers.toml").read_text(encoding="utf-8")
    code = main(
        [
            "layers",
            "add",
            str(source),
            "--id",
            "secteurs",
            "--code-field",
            "CODE_P",
            "--name-field",
            "NOM_P",
            "--label",
            "Secteurs test",
        ]
    )
    said = capsys.readouterr().out
    assert code == 0 and "2 périmètres" in said and "2 polygones réparés" in said
    assert "1 écarté (aucune surface une fois réparé)." in said
    registry = (geo / "layers.toml").read_text(encoding="utf-8")
    assert registry.startswith(before.rstrip("\n")) and 'id = "secteurs"' in registry
    specs, broken = read_registry(geo / "layers.toml")
    spec = next(s for s in specs if s.id == "secteurs")
    assert (spec.group, spec.source, spec.licence, spec.vintage) == ("Périmètres ajoutés",) + ("non renseigné",) * 3
    assert spec.color and spec.color not in {s.color for s in specs if s.id != "secteurs"} and not broken
    layer = load_territory().layers["secteurs"]
    assert list(layer["code"]) == ["01", "02"]  # codes kept as text, leading zero included
    assert layer.geom_type.isin(["Polygon", "MultiPolygon"]).all() and layer.is_valid.all()
    assert layer.to_crs(2154).area.gt(0).all()


def test_coverage_works_on_the_added_layer(geo, tmp_path, capsys):
    source = perimeters(tmp_path / "secteurs.geojson")
    assert (
        main(["layers", "add", str(source), "--id", "secteurs", "--code-field", "CODE_P", "--name-field", "NOM_P"]) == 0
    )
    out = tmp_path / "couverture.csv"
    assert main(["coverage", "--layer", "secteurs", "--out", str(out)]) == 0
    table = pd.read_csv(out, dtype={"code": str})
    assert list(table["code"]) == ["01", "02"] and "secteurs" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--code-field", "CODE_QP", "--name-field", "NOM_P"],
            "champ « CODE_QP » (code) absent de secteurs.geojson ; champs disponibles : CODE_P, NOM_P, DEP",
        ),
        (
            ["--code-field", "CODE_P", "--name-field", "NOM_P", "--where", "DEP=44"],
            "la sélection DEP = 44 ne garde aucun périmètre ; valeurs présentes : « 76 », « 09 »",
        ),
        (["--code-field", "CODE_P", "--name-field", "NOM_P", "--id", "qpv"], "identifiant « qpv » déjà utilisé"),
    ],
)
def test_a_wrong_add_says_what_to_fix_and_changes_nothing(geo, tmp_path, capsys, args, message):
    source = perimeters(tmp_path / "secteurs.geojson")
    before = (geo / "layers.toml").read_bytes()
    full = ["layers", "add", str(source), *(args if "--id" in args else ["--id", "secteurs", *args])]
    assert main(full) == 1
    assert message in capsys.readouterr().err
    assert (geo / "layers.toml").read_bytes() == before and not (geo / "secteurs.geojson").exists()


def test_a_number_in_where_matches_a_code_with_its_leading_zero(geo, tmp_path):
    source = perimeters(
        tmp_path / "secteurs.geojson", features=((BOW_TIE, "01", "Ariège", "09"), (SPIKE, "02", "Rouen", "76"))
    )
    added = add_layer(
        source,
        layer_id="ariege",
        code_field="CODE_P",
        name_field="NOM_P",
        where={"DEP": 9},
        registry=geo / "layers.toml",
        geo_dir=geo,
    )
    assert added.perimeters == 1 and list(load_territory().layers["ariege"]["nom"]) == ["Ariège"]


def test_a_csv_of_communes_per_perimeter_anywhere_in_france(geo, tmp_path):
    source = tmp_path / "cls_vienne.csv"
    source.write_text(
        "contrat;nom_contrat;insee\nCLS1;CLS Grand Poitiers;86194\nCLS1;CLS Grand Poitiers;86062\n"
        "CLS2;CLS Châtellerault;86066\n",
        encoding="utf-8",
    )
    added = add_layer(
        source,
        layer_id="cls_vienne",
        code_field="contrat",
        name_field="nom_contrat",
        commune_field="insee",
        registry=geo / "layers.toml",
        geo_dir=geo,
    )
    assert added.perimeters == 2
    layer = load_territory().layers["cls_vienne"].set_index("code")
    assert layer.loc["CLS1", "population"] > 90_000  # Poitiers and Chasseneuil-du-Poitou, COG 2026
    add_communes_of_nowhere(tmp_path / "rien.csv", geo)


def add_communes_of_nowhere(source: Path, geo: Path) -> None:
    """Add, as a coordinator would, a CSV of perimeters made of a commune that does not exist: a
    French error naming the column of INSEE codes."""
    source.write_text("contrat;nom_contrat;insee\nX;X;99999\n", encoding="utf-8")
    with pytest.raises(LayerError, match="colonne des codes INSEE"):
        add_layer(
            source,
            layer_id="rien",
            code_field="contrat",
            name_field="nom_contrat",
            commune_field="insee",
            registry=geo / "layers.toml",
            geo_dir=geo,
        )


def test_a_broken_layer_is_left_out_and_said(geo, capsys):
    with (geo / "layers.toml").open("a", encoding="utf-8") as registry:
        registry.write(
            '\n[[layer]]\nid = "faute"\nlabel = "QPV mal déclarés"\nkind = "file"\n'
            'file = "qpv2024_metropole_rouen.geojson"\nid_field = "CODE_QP"\nname_field = "lib_qp"\n'
            '\n[[layer]]\nid = "vide"\nlabel = "Sélection vide"\nkind = "file"\n'
            'file = "qpv2024_metropole_rouen.geojson"\nid_field = "code_qp"\nname_field = "lib_qp"\n'
            'where = { code_qp = "QN09999X" }\n'
        )
    territory = load_territory()
    assert "faute" not in territory.layers and "vide" not in territory.layers and len(territory.layers["qpv"]) == 16
    reasons = dict(territory.broken)
    assert "champ « CODE_QP » (code) absent" in reasons["QPV mal déclarés"] and "code_qp" in reasons["QPV mal déclarés"]
    assert "ne garde aucun périmètre" in reasons["Sélection vide"]
    assert main(["layers", "list"]) == 1
    assert "écartée : champ « CODE_QP »" in capsys.readouterr().out


# Cantons numbered within each département, as a canton list is written: « 01 » and « 02 » exist in
# both the Seine-Maritime (76) and the Eure (27), « 03 » in the Seine-Maritime only. Read by hand:
# 3 perimeters by the code alone (the communes of both départements merged), 5 by département and code.
CANTONS = (
    "canton;nom;insee\n01;Canton 1;76540\n01;Canton 1;76451\n01;Canton 1;27229\n"
    "02;Canton 2;76216\n02;Canton 2;27284\n02;Canton 2;27681\n03;Canton 3;76322\n"
)


def test_a_commune_list_whose_codes_repeat_across_departements_says_so_and_offers_both_keys(geo, tmp_path, capsys):
    from reseaux.territoire.add_layer import RepeatedCodesError

    source = tmp_path / "cantons.csv"
    source.write_text(CANTONS, encoding="utf-8")
    args = [
        "layers",
        "add",
        str(source),
        "--id",
        "cantons",
        "--code-field",
        "canton",
        "--name-field",
        "nom",
        "--commune-field",
        "insee",
    ]
    before = (geo / "layers.toml").read_text(encoding="utf-8")
    assert main(args) == 1
    said = capsys.readouterr().err
    assert "2 codes de périmètre regroupent des communes de plusieurs départements (« 01 », « 02 »)" in said
    assert "par le code seul, 3 périmètres" in said and "par le département et le code, 5 périmètres" in said
    assert "--cle departement" in said and (geo / "layers.toml").read_text(encoding="utf-8") == before
    with pytest.raises(RepeatedCodesError) as caught:
        add_layer(
            source,
            layer_id="cantons",
            code_field="canton",
            name_field="nom",
            commune_field="insee",
            registry=geo / "layers.toml",
            geo_dir=geo,
        )
    assert (caught.value.repeated.by_code, caught.value.repeated.by_departement) == (3, 5)

    assert main([*args, "--cle", "departement"]) == 0
    assert "5 périmètres" in capsys.readouterr().out
    assert main([*args[:4], "cantons_code", *args[5:], "--cle", "code"]) == 0
    assert "3 périmètres" in capsys.readouterr().out
    layers = load_territory().layers
    by_dep, by_code = layers["cantons"].set_index("code"), layers["cantons_code"].set_index("code")
    assert set(by_dep.index) == {"76-01", "27-01", "76-02", "27-02", "76-03"}
    assert by_dep.loc["27-01", "nom"] == "Canton 1 (27)"
    communes = gpd.read_file(geo / "communes_normandie.geojson").set_index("code_insee")
    inside = {c: communes.loc[c].geometry.representative_point() for c in ("76540", "27229", "76216", "27284")}
    assert by_dep.loc["76-01"].geometry.contains(inside["76540"]) and not by_dep.loc["76-01"].geometry.contains(
        inside["27229"]
    )
    assert by_dep.loc["27-02"].geometry.contains(inside["27284"]) and not by_dep.loc["27-02"].geometry.contains(
        inside["76216"]
    )
    assert by_code.loc["01"].geometry.contains(inside["76540"]) and by_code.loc["01"].geometry.contains(inside["27229"])


def test_a_list_whose_codes_stay_in_one_departement_needs_no_key(geo, tmp_path):
    source = tmp_path / "secteurs.csv"
    source.write_text("secteur;nom;insee\nS1;Nord;76540\nS1;Nord;76451\nS2;Sud;76322\n", encoding="utf-8")
    added = add_layer(
        source,
        layer_id="secteurs_76",
        code_field="secteur",
        name_field="nom",
        commune_field="insee",
        registry=geo / "layers.toml",
        geo_dir=geo,
    )
    assert added.perimeters == 2 and list(load_territory().layers["secteurs_76"]["code"]) == ["S1", "S2"]


REGIONS_TOPOJSON = ROOT / "tests" / "data" / "real" / "cget_regions2016.topojson"


def test_a_real_topojson_of_the_cget_is_added(geo, tmp_path, capsys):
    """The régions 2016 as the CGET (now ANCT) drew them in TopoJSON: 18 régions (13 of the mainland
    and Corse placed where they are, the 5 overseas drawn as insets near the mainland), counted by
    reading the file's « geometries »; Rouen lies in Normandie (28), Marseille in Provence-Alpes-Côte
    d'Azur (93)."""
    from shapely.geometry import Point

    objects = json.loads(REGIONS_TOPOJSON.read_text(encoding="utf-8"))["objects"]
    expected = {g["properties"]["id_reg"] for o in objects.values() for g in o["geometries"]}
    assert len(expected) == 18
    code = main(
        [
            "layers",
            "add",
            str(REGIONS_TOPOJSON),
            "--id",
            "regions",
            "--code-field",
            "id_reg",
            "--name-field",
            "nom_reg",
            "--label",
            "Régions 2016",
        ]
    )
    assert code == 0 and "18 périmètres" in capsys.readouterr().out
    layer = load_territory().layers["regions"].set_index("code")
    assert set(layer.index) == expected
    assert layer.loc["28"].geometry.contains(Point(1.0993, 49.4431)) and layer.loc["28", "nom"] == "Normandie"
    assert layer.loc["93"].geometry.contains(Point(5.3698, 43.2965))


def test_a_file_of_several_layers_asks_which_one_and_reads_the_one_chosen(geo, tmp_path, capsys):
    """A GeoPackage of two layers, made here from two real files: the QPV 2015 of Marseille (37) and
    the CGET régions (18). Read without a choice it gave its first layer, silently."""
    from reseaux.territoire.add_layer import fields_of, file_layers

    package = tmp_path / "deux_couches.gpkg"
    gpd.read_file(ROOT / "tests" / "data" / "real" / "qpv2015_arrondissement_marseille_13.gpkg").to_file(
        package, layer="qpv", driver="GPKG"
    )
    gpd.read_file(REGIONS_TOPOJSON).set_crs("EPSG:4326").to_file(package, layer="regions", driver="GPKG")
    assert file_layers(package) == [("qpv", 37), ("regions", 18)]
    assert "id_reg" in fields_of(package, "regions") and "CODE_QP" in fields_of(package, "qpv")
    args = ["layers", "add", str(package), "--id", "regions", "--code-field", "id_reg", "--name-field", "nom_reg"]
    assert main(args) == 1
    said = capsys.readouterr().err
    assert "2 couches : « qpv » (37 périmètres), « regions » (18 périmètres)" in said and "--couche-fichier" in said
    assert main([*args, "--couche-fichier", "regions"]) == 0
    assert "18 périmètres" in capsys.readouterr().out
    assert (
        main(
            [*args[:4], "qpv_marseille", "--code-field", "CODE_QP", "--name-field", "NOM_QP", "--couche-fichier", "qpv"]
        )
        == 0
    )
    assert "37 périmètres" in capsys.readouterr().out
    assert main([*args[:4], "autre", *args[5:], "--couche-fichier", "communes"]) == 1
    assert "n'a pas de couche « communes »" in capsys.readouterr().err


def test_a_file_of_several_layers_declared_by_hand_names_its_layer(geo, tmp_path):
    """The same two-layer GeoPackage declared in the registry by hand: without « file_layer » it was
    read by its first layer (the 37 QPV under the name of the régions); now the layer is left out and
    said, and « file_layer = "regions" » gives the 18 régions."""
    package = geo / "deux_couches.gpkg"
    gpd.read_file(ROOT / "tests" / "data" / "real" / "qpv2015_arrondissement_marseille_13.gpkg").to_file(
        package, layer="qpv", driver="GPKG"
    )
    gpd.read_file(REGIONS_TOPOJSON).set_crs("EPSG:4326").to_file(package, layer="regions", driver="GPKG")
    registry = geo / "layers.toml"
    entry = (
        '\n[[layer]]\nid = "regions"\nlabel = "Régions"\nkind = "file"\nfile = "deux_couches.gpkg"\n'
        'id_field = "id_reg"\nname_field = "nom_reg"\n'
    )
    registry.write_text(registry.read_text(encoding="utf-8") + entry, encoding="utf-8")
    territory = load_territory()
    assert "regions" not in territory.layers
    assert any(
        name == "Régions" and "2 couches (qpv, regions)" in why and 'file_layer = "qpv"' in why
        for name, why in territory.broken
    )
    registry.write_text(registry.read_text(encoding="utf-8") + 'file_layer = "regions"\n', encoding="utf-8")
    assert len(load_territory().layers["regions"]) == 18


def test_a_layer_whose_codes_outreach_actions_name_says_so_in_the_registry(geo, tmp_path):
    """The form's « zone d'intervention » box: the registry gets ``zone_intervention = true`` for
    that layer alone, and reads it back (Trouver then matches actions' zones against its codes)."""
    source = perimeters(tmp_path / "quartiers.geojson", features=((BOW_TIE, "Q01", "Nœud", "76"),))
    add_layer(
        source,
        layer_id="quartiers",
        code_field="CODE_P",
        name_field="NOM_P",
        registry=geo / "layers.toml",
        geo_dir=geo,
        zone_intervention=True,
    )
    add_layer(
        perimeters(tmp_path / "autres.geojson", features=((BOW_TIE, "A01", "Nœud", "76"),)),
        layer_id="autres",
        code_field="CODE_P",
        name_field="NOM_P",
        registry=geo / "layers.toml",
        geo_dir=geo,
    )
    import tomllib

    declared = {e["id"]: e for e in tomllib.loads((geo / "layers.toml").read_text(encoding="utf-8"))["layer"]}
    assert declared["quartiers"]["zone_intervention"] is True
    assert "zone_intervention" not in declared["autres"]
    specs = {spec.id: spec for spec in read_registry(geo / "layers.toml")[0]}
    assert specs["quartiers"].zone_intervention and not specs["autres"].zone_intervention


# As Google My Maps exports a map « au format KML » (fictional sectors near Rouen): a document, a
# folder per layer of the map, placemarks with a name, a description in HTML, coordinates with
# an altitude; a marker among the outlines of a layer.
MY_MAPS_KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2">
  <Document>
    <name>Secteurs du réseau (exemple fictif)</name>
    <Folder>
      <name>Secteurs</name>
      <Placemark>
        <name>Rive gauche (exemple)</name>
        <description><![CDATA[Secteur <b>fictif</b><br><script>alert(1)</script>]]></description>
        <Polygon><outerBoundaryIs><LinearRing><tessellate>1</tessellate><coordinates>
          1.03,49.40,0 1.10,49.40,0 1.10,49.43,0 1.03,49.43,0 1.03,49.40,0
        </coordinates></LinearRing></outerBoundaryIs></Polygon>
      </Placemark>
      <Placemark>
        <name>Rive droite (exemple)</name>
        <Polygon><outerBoundaryIs><LinearRing><tessellate>1</tessellate><coordinates>
          1.06,49.44,0 1.13,49.44,0 1.13,49.47,0 1.06,49.47,0 1.06,49.44,0
        </coordinates></LinearRing></outerBoundaryIs></Polygon>
      </Placemark>
      <Placemark>
        <name>Permanence (repère)</name>
        <Point><coordinates>1.09,49.44,0</coordinates></Point>
      </Placemark>
    </Folder>
    <Folder>
      <name>Maraudes</name>
      <Placemark>
        <name>Tournée du jeudi (exemple)</name>
        <LineString><coordinates>1.08,49.43,0 1.09,49.44,0</coordinates></LineString>
      </Placemark>
    </Folder>
  </Document>
</kml>
"""


@pytest.mark.parametrize("suffix", [".kml", ".kmz"])
def test_a_map_drawn_in_google_my_maps_is_added_as_kml_or_kmz(geo, tmp_path, capsys, suffix):
    """The sectors a network draws in Google My Maps, exported as KML or KMZ (a zipped KML): each
    folder is a layer of the file, the one chosen gives its two outlines (named by « Name », the
    marker among them set aside and counted), which hold the points drawn inside them here."""
    import zipfile

    from shapely.geometry import Point

    from reseaux.territoire.add_layer import file_layers

    path = tmp_path / f"secteurs{suffix}"
    if suffix == ".kml":
        path.write_text(MY_MAPS_KML, encoding="utf-8")
    else:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("doc.kml", MY_MAPS_KML)
    assert [name for name, _ in file_layers(path)] == ["Secteurs", "Maraudes"]
    args = ["layers", "add", str(path), "--id", "secteurs", "--code-field", "Name", "--name-field", "Name"]
    assert main([*args, "--couche-fichier", "Secteurs", "--label", "Secteurs (exemple)"]) == 0
    # the placemark of My Maps beside the sectors: a point, never a surface, not a failed repair
    said = capsys.readouterr().out
    assert "Couche « Secteurs (exemple) » ajoutée : 2 périmètres, 1 écarté (point ou ligne, pas une surface)." in said
    layer = load_territory().layers["secteurs"].set_index("code")
    assert sorted(layer.index) == ["Rive droite (exemple)", "Rive gauche (exemple)"]
    assert layer.loc["Rive gauche (exemple)"].geometry.contains(Point(1.05, 49.41))
    assert layer.loc["Rive droite (exemple)"].geometry.contains(Point(1.12, 49.46))
    assert not layer.loc["Rive gauche (exemple)"].geometry.contains(Point(1.12, 49.46))
    assert main([*args[:4], "maraudes", *args[5:], "--couche-fichier", "Maraudes"]) == 1  # a line: no surface
    assert "aucun" in capsys.readouterr().err.lower()


def test_a_kmz_that_unpacks_too_big_is_refused_before_it_is_read(tmp_path, monkeypatch):
    import zipfile

    from reseaux.territoire import layer_files
    from reseaux.territoire.add_layer import file_layers

    path = tmp_path / "enorme.kmz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("doc.kml", MY_MAPS_KML + " " * 200_000)
    monkeypatch.setattr(layer_files, "MAX_UNPACKED_BYTES", 100_000)
    with pytest.raises(LayerError, match="enorme.kmz se décompresse en"):
        file_layers(path)


def test_the_form_first_offers_the_field_that_codes_each_perimeter_and_the_one_that_names_it(tmp_path):
    """The form offered the file's first two fields: a KML of Google My Maps has an « id » left empty
    first, and its outlines were all coded « ». The code is now the first field that gives each
    perimeter its own value, the name the first field named like a name; on real files of four
    publishers, the fields their publishers meant (read in their documentation, not computed)."""
    from reseaux.territoire.add_layer import fields_of, suggested_fields

    kml = tmp_path / "secteurs.kml"
    kml.write_text(MY_MAPS_KML, encoding="utf-8")
    real = ROOT / "tests" / "data" / "real"
    for path, layer, expected in [
        (kml, "Secteurs", ("Name", "Name")),
        (REGIONS_TOPOJSON, "", ("id_reg", "nom_reg")),
        (real / "qpv2015_arrondissement_marseille_13.gpkg", "", ("CODE_QP", "NOM_QP")),
        (ROOT / "geo" / "qpv2024_metropole_rouen.geojson", "", ("code_qp", "lib_qp")),
        (ROOT / "geo" / "epci_normandie.geojson", "", ("epci_siren", "epci_nom")),
        (perimeters(tmp_path / "p.geojson"), "", ("CODE_P", "NOM_P")),
    ]:
        assert suggested_fields(path, fields_of(path, layer), layer) == expected, path.name


@pytest.mark.parametrize(
    "file_name, offered",
    [
        ("Secteurs du réseau.kmz", "secteurs_du_reseau"),
        ("Périmètres CPTS (ARS) — 2026.gpkg", "perimetres_cpts_ars_2026"),
        ("2024 QPV.geojson", "couche_2024_qpv"),
        ("Œuvre-sociale.kml", "oeuvre_sociale"),
        ("___.geojson", "couche"),
        ("x" * 60 + ".zip", "x" * 40),
    ],
)
def test_the_identifier_offered_for_a_file_is_one_the_form_takes(file_name, offered):
    from reseaux.territoire.add_layer import _ID, suggested_id

    assert suggested_id(file_name) == offered and _ID.match(offered)


def test_the_command_takes_the_fields_and_identifier_the_form_would_offer(geo, tmp_path, capsys):
    """« layers add » asked for the code and name fields and an identifier, all three; a file of My
    Maps is now added with its file alone, the fields taken said; a CSV of communes still names its
    columns (a table's first two columns are no guess)."""
    path = tmp_path / "Secteurs du réseau.kml"
    path.write_text(MY_MAPS_KML, encoding="utf-8")
    assert main(["layers", "add", str(path), "--couche-fichier", "Secteurs"]) == 0
    said = capsys.readouterr().out
    assert "Champs pris : code « Name », nom « Name »" in said and "2 périmètres, 1 écarté" in said
    assert sorted(load_territory().layers["secteurs_du_reseau"]["code"]) == [
        "Rive droite (exemple)",
        "Rive gauche (exemple)",
    ]
    table = tmp_path / "cantons.csv"
    table.write_text("code,nom,insee\n01,Canton (exemple),76540\n", encoding="utf-8")
    assert main(["layers", "add", str(table)]) == 2
    assert "--code-field et --name-field sont obligatoires" in capsys.readouterr().err


def test_the_sentence_says_why_each_shape_was_dropped():
    from reseaux.territoire.add_layer import AddedLayer
    from reseaux.territoire.layers import LayerSpec

    spec = LayerSpec(
        id="secteurs", label="Secteurs", kind="file", file="secteurs.geojson", id_field="c", name_field="n"
    )
    assert AddedLayer(spec, 3, 0, 2, 2).sentence() == (
        "Couche « Secteurs » ajoutée : 3 périmètres, 2 écartés (points ou lignes, pas des surfaces)."
    )
    assert AddedLayer(spec, 3, 1, 3, 1).sentence() == (
        "Couche « Secteurs » ajoutée : 3 périmètres, 1 polygone réparé, 3 écartés "
        "(1 point ou ligne, pas une surface ; 2 polygones sans surface une fois réparés)."
    )
