"""The layer registry and loaders, on two square communes of known size and population."""

import pytest

from reseaux.territoire.layers import RegistryError, load_layers, load_registry
from tests.conftest import DATA, ROOT

GEO = DATA / "geo"


def test_fixture_registry_loads_standard_columns():
    specs = load_registry(GEO / "layers.toml")
    layers = load_layers(specs, GEO)
    assert [s.id for s in specs] == ["carres", "table"]
    squares = layers["carres"]
    assert list(squares.columns) == ["code", "nom", "population", "geometry"]
    assert list(squares["code"]) == ["S1", "S2"]
    assert squares.crs.to_epsg() == 4326


def test_table_layer_dissolves_communes_and_sums_population():
    layers = load_layers(load_registry(GEO / "layers.toml"), GEO)
    table = layers["table"].set_index("code")
    # P = communes 00001 + 00002 ; Q = every commune of EPCI 222 (only 00002)
    assert table.loc["Périmètre P", "population"] == 4000
    assert table.loc["Périmètre Q", "population"] == 3000
    area_p = layers["table"].to_crs(2154).set_index("code").area["Périmètre P"]
    assert area_p == pytest.approx(2_000_000, rel=1e-3)


def test_registry_problems_are_all_reported_at_once(tmp_path):
    (tmp_path / "layers.toml").write_text(
        '[[layer]]\nid="a"\nlabel="A"\ngroup="G"\nkind="wms"\nfile="nope.geojson"\ncolor="#000"\n'
        'source="s"\nlicence="l"\nvintage="v"\n'
        '[[layer]]\nid="b"\nlabel="B"\ngroup="G"\nkind="file"\nfile="x"\ncolor="#000"\n'
        'source="s"\nlicence="l"\nvintage="v"\ncolour="#f00"\n',
        encoding="utf-8",
    )
    with pytest.raises(RegistryError) as info:
        load_registry(tmp_path / "layers.toml")
    text = str(info.value)
    assert "kind « wms » inconnu" in text
    assert "nope.geojson introuvable" in text
    assert "clé(s) inconnue(s) colour" in text


def test_shipped_registry():
    specs = load_registry(ROOT / "geo" / "layers.toml")
    layers = load_layers(specs, ROOT / "geo")
    by_id = {s.id: s for s in specs}
    assert len(layers["qpv"]) == 16
    assert layers["qpv"]["code"].str.match(r"^QN076\d\d[A-Z]$").all()
    assert len(layers["communes"]) == 71
    assert len(layers["communes_normandie"]) == 2644
    assert len(layers["epci"]) == 71
    assert len(layers["cls"]) == 6 and len(layers["asv"]) == 7
    assert len(layers["cpts"]) == 5 and len(layers["utas"]) == 2
    # QPV of Seine-Maritime without an open polygon: 29 in the département, 16 drawn above.
    assert len(layers["qpv_hors_metropole"]) == 29 - 16
    assert layers["qpv_hors_metropole"]["population"].isna().all()
    # Example layers say so everywhere a user reads them.
    for layer_id in ("cpts", "utas", "cms"):
        assert by_id[layer_id].example and "exemple" in by_id[layer_id].label
        assert layers[layer_id]["nom"].str.contains("(exemple)", regex=False).all()
    # The Métropole's CLS covers its 71 communes: its population is theirs.
    cls = layers["cls"].set_index("nom")
    assert cls.loc["CLS Métropole Rouen Normandie", "population"] == layers["communes"]["population"].sum()
    assert layers["finess"].geom_type.eq("Point").all() and len(layers["finess"]) == 335
    for spec in specs:
        assert spec.source and spec.licence and spec.vintage


def test_a_layer_says_its_own_article_and_fill_opacity_and_one_that_does_not_gets_the_defaults(tmp_path):
    """The sentence of Trouver and the map's fill come from the registry entry: a layer added with
    « la maison de santé » and 0.3 is named and filled so; the same file declared bare is named by
    its label and filled at 0.04; an opacity out of 0..1 is refused with the layer's name."""
    import shutil

    from reseaux.analyse.proximity import containing_perimeters, perimeter_sentence
    from reseaux.carte.perimeters import perimeter_layer
    from reseaux.territoire.layers import parse_registry

    shutil.copy(DATA / "geo" / "squares.geojson", tmp_path)
    common = 'kind = "file"\nfile = "squares.geojson"\nid_field = "code"\nname_field = "nom"\ngroup = "Coordination"\n'
    specs, broken = parse_registry(
        f'[[layer]]\nid = "msp"\nlabel = "Maisons de santé"\n{common}article = "la maison de santé"\n'
        f'fill_opacity = 0.3\n\n[[layer]]\nid = "nues"\nlabel = "Carrés nus"\n{common}\n'
        f'[[layer]]\nid = "faux"\nlabel = "Opacité fausse"\n{common}fill_opacity = 3\n',
        tmp_path,
    )
    assert [s.id for s in specs] == ["msp", "nues"]
    assert broken[0][0] == "Opacité fausse" and "fill_opacity « 3 » invalide" in broken[0][1]
    layers = load_layers(specs, tmp_path)
    square = layers["msp"].set_index("code").loc["S1", "geometry"].representative_point()
    sentence = perimeter_sentence(containing_perimeters(square.y, square.x, layers, specs))
    assert sentence == "Ce point est dans la maison de santé Carré 1 et Carrés nus : Carré 1."
    import folium

    fills = {s.id: perimeter_layer(layers[s.id], s).add_to(folium.Map()).get_root().render() for s in specs}
    assert '"fillOpacity": 0.3' in fills["msp"] and '"fillOpacity": 0.04' in fills["nues"]


def test_the_shipped_qpv_are_filled_more_than_the_other_perimeters():
    specs = {s.id: s for s in load_registry(ROOT / "geo" / "layers.toml")}
    assert specs["qpv"].fill_opacity == specs["qpv_hors_metropole"].fill_opacity == 0.12
    assert specs["cpts"].fill_opacity == 0.04 and specs["cpts"].article == "la CPTS"
