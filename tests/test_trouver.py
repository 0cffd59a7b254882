"""« Trouver un partenaire »: AppTest with the point from a link, a (simulated) map click or a typed
address while the geocoder is down; the offline commune matching on real names; the map's
numbered markers and popups. The browser journey is in test_journey_professional.py."""

from __future__ import annotations

import shutil

import pytest

from reseaux.analyse.filters import ActorFilter, apply_filter, search_text
from reseaux.analyse.proximity import Partner, ProximityIndex, nearest
from reseaux.carte.search_map import build_search_map, popup_html
from reseaux.territoire.commune_locator import CommuneLocator, clear_choice
from reseaux.text import fr_distance, md_escape
from tests.browser import by_distance
from tests.conftest import ROOT, open_page, visible_demo

ROUEN = (49.4431, 1.0993)
PETIT_QUEVILLY_HALL = (49.430302, 1.05256)  # town hall, geo/communes_normandie_population.csv
OFFLINE = "http://127.0.0.1:9"  # nothing listens there


def page(**query):
    return open_page("trouver", **query)


def expected(referential, lat, lon, flt, k=10, radius_m=10_000):
    actors = visible_demo(referential)  # AppTest runs as a visitor
    index = ProximityIndex.build(actors)
    mask = apply_filter(index.frame, flt, referential, search=search_text(index.frame)).mask.to_numpy()
    return nearest(index, lat, lon, mask=mask, k=k, radius_m=radius_m)


def headings(at):
    return [m.value for m in at.markdown if m.value.startswith("**") and ". " in m.value[:8]]


def test_a_link_reproduces_the_search(monkeypatch, referential):
    monkeypatch.setenv("RESEAUX_GEOCODER_URL", OFFLINE)
    at = page(lat=str(ROUEN[0]), lon=str(ROUEN[1]), theme="ivg", profession="sage_femme", k="3", rayon="5")
    assert not at.exception
    want = expected(referential, *ROUEN, ActorFilter(themes=("ivg",), professions=("sage_femme",)), k=3, radius_m=5000)
    got = headings(at)
    assert len(got) == len(want) == 3
    for number, (line, row) in enumerate(zip(got, want.itertuples(), strict=True), start=1):
        assert line.startswith(f"**{number}. {md_escape(row.nom)}** — Sage\\-femme")
        assert line.endswith(f"**{fr_distance(row.distance_m)}**")
    assert any(m.value.startswith("**3 partenaires les plus proches** à moins de 5 km") for m in at.markdown)
    assert any("Ce point est dans " in c.value for c in at.caption)
    assert at.select_slider(key="tp_radius").value == 5.0


def test_every_run_sends_the_chosen_filters_to_the_browser(monkeypatch):
    """A link's choices reach the browser on every run, not only on the run that read the link: a
    browser that missed that run (cut short by the person's first click) would otherwise show the
    widget's default and send it back, and « Élargir » dropped the link's theme on a phone."""
    monkeypatch.setenv("RESEAUX_GEOCODER_URL", OFFLINE)
    at = page(lat=str(ROUEN[0]), lon=str(ROUEN[1]), theme="addictions", k="4", rayon="2")
    at.run()  # a later run: the link is no longer read, the values are the session's
    assert not at.exception
    themes = at.multiselect(key="tp_themes")
    assert themes.proto.set_value and list(themes.proto.raw_values) == ["Addictions"]  # as shown
    assert themes.value == ["addictions"]
    assert at.slider(key="tp_k").proto.set_value and at.slider(key="tp_k").value == 4
    assert at.select_slider(key="tp_radius").proto.set_value and at.select_slider(key="tp_radius").value == 2.0
    assert at.query_params["theme"] == "addictions"


def test_free_text_search_from_the_link(monkeypatch, referential):
    monkeypatch.setenv("RESEAUX_GEOCODER_URL", OFFLINE)
    at = page(lat=str(ROUEN[0]), lon=str(ROUEN[1]), q="IVG médicamenteuse", rayon="50")
    assert not at.exception
    assert at.text_input(key="tp_text").value == "IVG médicamenteuse"
    want = expected(referential, *ROUEN, ActorFilter(text="IVG médicamenteuse"), radius_m=50_000)
    assert len(want) > 0 and all("IVG médicamenteuse" in row.specialites for row in want.itertuples())
    assert [h.split("**")[1] for h in headings(at)] == [
        f"{n}. {md_escape(name)}" for n, name in enumerate(want["nom"], start=1)
    ]
    details = [m.value for m in at.markdown if "**Spécialités et formations** : " in m.value]
    assert len(details) == len(want) and all("IVG médicamenteuse" in d for d in details)
    at.text_input(key="tp_text").set_value("zzz introuvable").run()
    assert at.query_params["q"] == "zzz introuvable"
    assert any("C'est le filtre « recherche libre » qui vide la liste" in m.value for m in at.markdown)


def test_a_map_click_sets_the_starting_point(monkeypatch, referential):
    monkeypatch.setenv("RESEAUX_GEOCODER_URL", OFFLINE)
    at = page()
    assert any("Choisissez un point de départ" in i.value for i in at.info)
    # What the map's click handler stores (st_folium's last_clicked is not rendered by AppTest).
    at.session_state["tp_point"] = (49.4016, 1.0590, "point choisi sur la carte")
    at.run()
    assert headings(at)[0].startswith("**1. ")
    assert at.query_params["lat"] == "49.401600"


def test_geocoder_down_places_the_address_at_its_commune(monkeypatch, referential):
    monkeypatch.setenv("RESEAUX_GEOCODER_URL", OFFLINE)
    at = page(theme="ivg")
    at.text_input(key="tp_address").input("76140 Le Petit-Quevilly").run()
    assert not at.exception
    assert any(
        w.value.startswith("**Position approximative : centre de la commune** (Le Petit\\-Quevilly \\(76140\\))")
        and "géocodeur national ne répond pas" in w.value
        for w in at.warning
    )
    lat, lon, label = at.session_state["tp_point"]
    assert (lat, lon) == PETIT_QUEVILLY_HALL and "position approximative" in label
    want = expected(referential, *PETIT_QUEVILLY_HALL, ActorFilter(themes=("ivg",)))
    assert headings(at)[0].startswith(f"**1. {md_escape(want.iloc[0]['nom'])}**")


def test_geocoder_down_and_several_communes_asks_which(monkeypatch):
    monkeypatch.setenv("RESEAUX_GEOCODER_URL", OFFLINE)
    at = page()
    at.text_input(key="tp_address").input("saint aubin").run()
    assert any("plusieurs communes correspondent" in w.value for w in at.warning)
    choice = at.selectbox(key="tp_suggest")
    assert "Saint-Aubin-lès-Elbeuf (76410)" in choice.options and at.session_state["tp_point"] is None
    choice.set_value(choice.options.index("Saint-Aubin-lès-Elbeuf (76410)")).run()
    assert at.session_state["tp_point"][2].startswith("Saint-Aubin-lès-Elbeuf (76410), centre de la commune")
    assert headings(at)


def test_nothing_matches_says_which_filter_and_offers_the_rest(monkeypatch):
    monkeypatch.setenv("RESEAUX_GEOCODER_URL", OFFLINE)
    # The demo has no transidentité partner offering téléconsultation and LSF within 1 km of Rouen.
    at = page(
        lat=str(ROUEN[0]), lon=str(ROUEN[1]), theme="transidentite", modalite="teleconsultation", acces="lsf", rayon="1"
    )
    assert any(w.value.startswith("Aucun partenaire ne correspond à moins de 1 km.") for w in at.warning)
    assert any("vide la liste" in m.value and "les plus proches sont" in m.value for m in at.markdown)


# --- no dead end: the way on, computed here by haversine on the demo file, not by the app ------

RADII_KM = (0.5, 1, 2, 3, 5, 10, 15, 20, 30, 50)  # the radius slider's stops, as a person reads them


def km(value):
    return f"{value:g} km".replace(".", ",")


def test_nothing_within_the_radius_offers_a_wider_one_and_the_nearest_beyond(monkeypatch, referential):
    monkeypatch.setenv("RESEAUX_GEOCODER_URL", OFFLINE)
    lat, lon = PETIT_QUEVILLY_HALL
    ranked = by_distance(referential, lat, lon, "addictions")
    assert ranked[0][0] > 1000 * 1.01, "the demo should have no addictions partner within 1 km of the town hall"
    wider = next(r for r in RADII_KM if r * 1000 >= ranked[0][0])
    within = [d for d, _ in ranked if d <= wider * 1000]
    assert all(abs(d - wider * 1000) > 0.01 * wider * 1000 for d, _ in ranked[: len(within) + 1])  # no tie at the edge
    at = page(lat=str(lat), lon=str(lon), theme="addictions", rayon="1")
    assert not at.exception
    warning = next(w.value for w in at.warning if w.value.startswith("Aucun partenaire ne correspond à moins de 1 km."))
    said = float(warning.split("Le plus proche est à ")[1].split(" km")[0].replace(",", "."))
    assert abs(said * 1000 - ranked[0][0]) <= 51  # « 2,5 km »: rounded to 100 m
    label = f"Élargir à {km(wider)} ({len(within)} partenaire{'s' if len(within) > 1 else ''})"
    assert [b.label for b in at.button if b.key == "tp_wider"] == [label]
    # the nearest beyond the radius are listed, closest first, with their true distance
    got = headings(at)
    assert [h.split("**")[1] for h in got] == [
        f"{n}. {md_escape(name)}" for n, (_, name) in enumerate(ranked[:3], start=1)
    ]
    for line, (metres, _) in zip(got, ranked, strict=False):
        shown = float(line.rsplit("· **", 1)[1].split(" km")[0].replace(",", "."))
        assert abs(shown * 1000 - metres) <= 51
    at.button(key="tp_wider").click().run()
    assert at.select_slider(key="tp_radius").value == wider and at.query_params["rayon"] == f"{wider:g}"
    assert [h.split("**")[1] for h in headings(at)] == [
        f"{n}. {md_escape(name)}" for n, (_, name) in enumerate(ranked[: len(within)], start=1)
    ]
    assert not [w for w in at.warning if w.value.startswith("Aucun partenaire")]


def test_taking_off_the_filter_that_empties_the_list(monkeypatch, referential):
    monkeypatch.setenv("RESEAUX_GEOCODER_URL", OFFLINE)
    at = page(lat=str(ROUEN[0]), lon=str(ROUEN[1]), q="zzz introuvable")
    assert any("C'est le filtre « recherche libre » qui vide la liste" in m.value for m in at.markdown)
    at.button(key="tp_unblock").click().run()
    assert at.text_input(key="tp_text").value == "" and "q" not in at.query_params
    assert len(headings(at)) == 10


def test_an_unknown_address_clears_the_previous_points_results(monkeypatch):
    monkeypatch.setenv("RESEAUX_GEOCODER_URL", OFFLINE)
    at = page(lat=str(ROUEN[0]), lon=str(ROUEN[1]))
    assert headings(at)
    at.text_input(key="tp_address").input("zzzz qqqq").run()
    assert any("aucune commune de Normandie ne correspond à « zzzz qqqq »" in w.value for w in at.warning)
    assert headings(at) == [] and at.session_state["tp_point"] is None
    assert "lat" not in at.query_params
    assert any("Choisissez un point de départ" in i.value for i in at.info)


def test_a_link_with_an_address_refills_it_and_searches(monkeypatch, referential):
    monkeypatch.setenv("RESEAUX_GEOCODER_URL", OFFLINE)  # placed at its commune's town hall
    at = page(adresse="76140 Le Petit-Quevilly", theme="ivg", k="3")
    assert not at.exception
    assert at.text_input(key="tp_address").value == "76140 Le Petit-Quevilly"
    assert at.session_state["tp_point"][:2] == PETIT_QUEVILLY_HALL
    ranked = by_distance(referential, *PETIT_QUEVILLY_HALL, "ivg")
    assert [h.split("**")[1] for h in headings(at)] == [
        f"{n}. {md_escape(name)}" for n, (_, name) in enumerate(ranked[:3], start=1)
    ]


def test_every_parameter_a_link_carries_refills_its_widget(monkeypatch):
    monkeypatch.setenv("RESEAUX_GEOCODER_URL", OFFLINE)
    link = {
        "type": "professionnel",
        "theme": "ivg,contraception",
        "profession": "sage_femme",
        "public": "jeunes",
        "modalite": "sur_rdv",
        "acces": "pmr",
        "langue": "anglais",
        "q": "IVG",
        "k": "7",
        "rayon": "20",
        "lat": "49.443100",
        "lon": "1.099300",
        "lieu": "point choisi sur la carte",
        "adresse": "Place du Vieux-Marché, Rouen",
    }
    at = page(**link)
    assert not at.exception
    widgets = {
        "tp_types": ["professionnel"],
        "tp_themes": ["ivg", "contraception"],
        "tp_professions": ["sage_femme"],
        "tp_publics": ["jeunes"],
        "tp_modalites": ["sur_rdv"],
        "tp_accessibilite": ["pmr"],
        "tp_langues": ["anglais"],
    }
    for key, value in widgets.items():
        assert at.multiselect(key=key).value == value, key
    assert at.text_input(key="tp_text").value == "IVG"
    assert at.slider(key="tp_k").value == 7 and at.select_slider(key="tp_radius").value == 20.0
    assert at.text_input(key="tp_address").value == "Place du Vieux-Marché, Rouen"
    assert at.session_state["tp_point"] == (49.4431, 1.0993, "point choisi sur la carte")
    assert any(c.value.startswith("**Départ : point choisi sur la carte.**") for c in at.caption)
    assert {key: at.query_params[key] for key in link} == link  # written back as it came


def test_outside_every_layer_warns(monkeypatch):
    monkeypatch.setenv("RESEAUX_GEOCODER_URL", OFFLINE)
    at = page(lat="43.3", lon="5.4")  # Marseille
    assert any("en dehors de toutes les couches" in w.value for w in at.warning)


# --- the offline commune matching, on the real table of Normandy's communes -------------------


@pytest.fixture(scope="module")
def communes():
    return CommuneLocator.from_csv(ROOT / "geo" / "communes_normandie_population.csv")


@pytest.mark.parametrize(
    "typed",
    [
        "76140 Le Petit-Quevilly",
        "petit quevilly",
        "PETIT-QUEVILLY",
        "Le Petit Quevilly",
        "76140",
        "12 rue Saint-Julien, 76140 Le Petit-Quevilly",
        "1 rue de Rouen, Le Petit-Quevilly",
        "Place Henri-Barbusse, 76141 Le Petit-Quevilly Cedex",  # the town hall's CEDEX code names no commune
        "petit quevily",  # a typo
    ],
)
def test_le_petit_quevilly_however_it_is_typed(communes, typed):
    best = clear_choice(communes.search(typed))
    assert best is not None and best.citycode == "76498" and best.label == "Le Petit-Quevilly (76140)"
    assert (best.latitude, best.longitude) == PETIT_QUEVILLY_HALL


@pytest.mark.parametrize(
    "typed, code",
    [
        ("st etienne du rouvray", "76575"),  # not Rouvray (27), whose name it contains
        ("Saint-Étienne-du-Rouvray", "76575"),
        ("ST-ETIENNE-DU-ROUVRAY 76800", "76575"),
        ("mont st aignan", "76451"),
        ("ste marguerite sur duclair", "76608"),
        ("Evreux", "27229"),
        ("76100 rouen", "76540"),
        ("12 rue Jeanne d'Arc 76000", "76540"),
        ("sotteville les rouen", "76681"),
        ("Eu", "76255"),
    ],
)
def test_accents_case_saint_and_postcodes(communes, typed, code):
    best = clear_choice(communes.search(typed))
    assert best is not None and best.citycode == code


def test_ambiguous_or_unknown_text_is_not_guessed(communes):
    several = communes.search("76160")  # Darnétal, Saint-Léger-du-Bourg-Denis, Préaux…
    assert clear_choice(several) is None and len(several) == 5
    assert {m.label for m in several} >= {"Darnétal (76160)", "Saint-Léger-du-Bourg-Denis (76160)"}
    assert clear_choice(communes.search("saint aubin")) is None
    assert communes.search("12 rue de la République") == []
    assert communes.search("zzzz") == [] and communes.search("76999") == [] and communes.search("") == []


# --- the map --------------------------------------------------------------------------------------


def partner(number, name="Camille Exemple (fictif)", lat=49.43, lon=1.05):
    return Partner(
        number=number,
        name=name,
        role="Sage-femme",
        distance="1,2 km",
        latitude=lat,
        longitude=lon,
        phone="02 61 91 00 01",
        phone_uri="tel:0261910001",
        website="https://example.org/c",
        directions={"OpenStreetMap": "https://www.openstreetmap.org/directions?x=1&y=2"},
    )


def test_popup_says_number_name_role_distance_and_links():
    text = popup_html(partner(3))
    assert "3. Camille Exemple (fictif)" in text and "Sage-femme · <b>1,2 km</b>" in text
    assert 'href="tel:0261910001"' in text and ">Appeler le 02 61 91 00 01<" in text
    assert 'href="https://www.openstreetmap.org/directions?x=1&amp;y=2" target="_blank"' in text
    assert 'href="https://example.org/c" target="_blank"' in text


def test_search_map_escapes_names_and_speaks_french(tmp_path):
    hostile = '<img src=x onerror="alert(1)"></script>${alert(2)}`\\u{'
    results = [partner(1, hostile), partner(2, lat=49.4301, lon=1.0501), partner(3, lat=49.45, lon=1.10)]
    fmap = build_search_map((0.9, 49.3, 1.2, 49.5), (49.44, 1.06), 10, results)
    page = fmap.get_root().render()
    assert "<img src=x" not in page and "</script>${" not in page
    assert "\\u003cimg src=x" not in page  # the markup is escaped before it is put in JSON…
    assert "&amp;lt;img" not in page  # …once, not twice
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page.replace("\\u0026", "&")
    assert page.count("L.marker(") == 1 and '"n":3' in page  # one script draws the numbered markers
    assert "markerClusterGroup" in page and "spiderfy" in page
    assert '"Zoom avant"' in page and "imperial: false" in page and "L.control.scale()" not in page
    assert "cdn" not in page.lower()


def test_links_in_results_are_built_from_valid_addresses_only():
    from reseaux.annuaire.fields import valid_email, valid_website

    assert valid_email("accueil@planning76.example.org") and valid_email("o'neil@example.fr")
    for bad in ("a@b.c) [x](javascript:alert(1)", "x@y", "pas une adresse", "a@b.fr <b>", "[a](b)@c.fr"):
        assert not valid_email(bad), bad
    assert valid_website("https://example.org/ivg?x=1") and valid_website("http://exemple.fr")
    for bad in (
        "javascript:alert(1)",
        "https://x.org) [pwn](https://evil.example",
        "https://",
        "ftp://x.org",
        "https://x.org/<script>",
        "www.example.org",
    ):
        assert not valid_website(bad), bad


def test_a_result_says_its_opening_hours(monkeypatch, tmp_path, referential):
    """The map's fiche said « Horaires », Trouver's result did not: the nearest public actor to
    Rouen, given opening hours in a copy of the demo file, shows them in its result."""
    import pandas as pd

    monkeypatch.setenv("RESEAUX_GEOCODER_URL", OFFLINE)
    nearest_id = expected(referential, *ROUEN, ActorFilter(), k=1)["id"].iloc[0]  # read the app's own way
    table = pd.read_csv(ROOT / "data" / "actors.csv", dtype=str, keep_default_na=False)
    hours = "lundi : 9 h-12 h ; jeudi : 14 h-17 h"
    table.loc[table["id"] == nearest_id, "horaires"] = hours
    path = tmp_path / "actors.csv"
    table.to_csv(path, index=False)
    monkeypatch.setenv("RESEAUX_ACTORS", str(path))
    at = page(lat=str(ROUEN[0]), lon=str(ROUEN[1]), k="1")
    assert not at.exception
    name = table.loc[table["id"] == nearest_id, "nom"].iloc[0]
    assert headings(at)[0].startswith(f"**1. {md_escape(name)}**")
    card = next(m.value for m in at.markdown if "**Horaires** : " in m.value)
    assert f"**Horaires** : {md_escape(hours)}" in card


#: Inside the QPV « Quartier Rosa Parks » (QN07616M, a point of its polygon computed with shapely),
#: in a commune no outreach action names: only the QPV's code can bring the maraude that lists it.
ROSA_PARKS = (49.49009, 1.05237)


@pytest.mark.parametrize("declared", [True, False])
def test_an_outreach_action_is_announced_where_its_zone_s_codes_are_declared(monkeypatch, tmp_path, declared):
    """The maraude « demo-018 » lists QN07616M in its zone. Announced in Trouver when the layer
    holding that code says ``zone_intervention = true`` — whatever the layer is called (here
    « quartiers », not « qpv ») — and not when it does not."""
    import pandas as pd

    geo = tmp_path / "geo"
    shutil.copytree(ROOT / "geo", geo)
    text = (geo / "layers.toml").read_text(encoding="utf-8").replace('id = "qpv"\n', 'id = "quartiers"\n', 1)
    if not declared:
        text = text.replace("zone_intervention = true\n", "")
    (geo / "layers.toml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("RESEAUX_GEO_DIR", str(geo))
    monkeypatch.setenv("RESEAUX_LAYERS", str(geo / "layers.toml"))
    monkeypatch.setenv("RESEAUX_GEOCODER_URL", OFFLINE)
    demo = pd.read_csv(ROOT / "data" / "actors.csv", dtype=str, keep_default_na=False).set_index("id")
    assert "QN07616M" in demo.loc["demo-018", "zone_intervention"].split("|")
    at = page(lat=str(ROSA_PARKS[0]), lon=str(ROSA_PARKS[1]))
    assert not at.exception
    assert any("Quartier Rosa Parks" in c.value for c in at.caption)  # the point is in that QPV
    announced = [s.value for s in at.success if "action d'aller-vers passe" in s.value]
    if declared:
        assert len(announced) == 1 and demo.loc["demo-018", "nom"] in announced[0].replace("\\", "")
    else:
        assert announced == []
