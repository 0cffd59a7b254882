"""AppTest smoke tests of every page, on the demo data and on a broken file."""

import re

import pytest
from streamlit.testing.v1 import AppTest

from reseaux.analyse.filters import ActorFilter, apply_filter
from tests.conftest import ROOT, sign_in, visible_demo

TIMEOUT = 90


def app(monkeypatch, actors=None, **query):
    if actors:
        monkeypatch.setenv("RESEAUX_ACTORS", str(actors))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def count_line(at):
    """The count line as a person reads it (Markdown's backslash escapes undone, word joiners removed)."""
    line = next(m.value for m in at.markdown if re.search(r"\*\*\d+ acteurs? sur", m.value))
    return re.sub(r"\\(.)", r"\1", line).replace("\u2060", "")


def expected(referential, flt):
    return len(apply_filter(visible_demo(referential), flt, referential).actors)


def test_map_page_shows_the_demo_network(monkeypatch, referential):
    at = app(monkeypatch)
    assert not at.exception
    public = len(visible_demo(referential))
    assert 0 < public < 185  # a visitor sees the public view only
    assert count_line(at).startswith(f"**{public} acteurs sur {public}**")
    assert any("Données de démonstration" in w.value for w in at.warning)
    assert at.get("download_button")


def test_choosing_a_theme_filters_and_writes_the_url(monkeypatch, referential):
    at = app(monkeypatch)
    at.multiselect(key="f_themes").set_value(["ivg"]).run()
    n = expected(referential, ActorFilter(themes=("ivg",)))
    total = len(visible_demo(referential))
    assert 0 < n < total
    assert count_line(at).startswith(f"**{n} acteurs sur {total}**")
    assert "sur la thématique « IVG »" in count_line(at)
    assert at.query_params["theme"] == "ivg"


def test_a_shared_link_reproduces_the_filters(monkeypatch, referential):
    at = app(monkeypatch, theme="ist_vih", type="structure", couches="qpv,cls", fond="positron")
    n = expected(referential, ActorFilter(themes=("ist_vih",), types=("structure",)))
    assert count_line(at).startswith(f"**{n} acteurs sur {len(visible_demo(referential))}**")
    assert at.multiselect(key="v_layers").value == ["qpv", "cls"]
    assert at.selectbox(key="v_basemap").value == "positron"


def test_every_run_sends_the_link_s_choices_to_the_browser(monkeypatch):
    """A later run (the link no longer read) still carries the map's choices to the browser: one that
    missed the run that read the link would otherwise mount its defaults and send them back."""
    at = app(monkeypatch, theme="ist_vih", couches="qpv,cls", fond="positron")
    at.run()
    assert not at.exception
    themes, layers = at.multiselect(key="f_themes"), at.multiselect(key="v_layers")
    assert themes.proto.set_value and themes.value == ["ist_vih"]
    assert layers.proto.set_value and layers.value == ["qpv", "cls"]
    assert at.selectbox(key="v_basemap").proto.set_value and at.selectbox(key="v_basemap").value == "positron"
    assert not at.text_input(key="f_text").proto.set_value  # a text field is never reset under typing


def test_the_communes_offered_are_those_of_the_visible_directory(monkeypatch):
    import csv

    with open(ROOT / "data" / "actors.csv", encoding="utf-8", newline="") as f:
        public = {r["code_insee"] for r in csv.DictReader(f) if r["visibilite"] == "public"} - {""}
    at = app(monkeypatch)
    offered = at.multiselect(key="f_communes").options
    assert len(offered) == len(set(offered)) == len(public) > 10


def test_perimeter_filter_from_the_sidebar(monkeypatch):
    at = app(monkeypatch)
    at.selectbox(key="f_perimeter").set_value("qpv:QN07620M").run()
    assert "dans le périmètre « QPV 2024 (Métropole) — Les Hauts de Rouen »" in count_line(at)


def test_quality_page_lists_problems_by_line(monkeypatch, tmp_path, accounts_file):
    bad = tmp_path / "actors.csv"
    bad.write_text(
        "id,nom,type,thematiques,commune\na,A,structure,IVG,Rouen\nb,B,structure,foot,\n", encoding="utf-8"
    )  # b has nothing to place it by: kept aside
    at = sign_in(app(monkeypatch, actors=bad), "coord")
    at.switch_page("views/qualite.py").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Acteurs chargés"] == "1" and metrics["Lignes écartées"] == "1"
    assert any(len(df.value) == 1 for df in at.dataframe)


def test_unreadable_directory_shows_a_french_error_not_a_trace(monkeypatch, tmp_path):
    bad = tmp_path / "actors.csv"
    bad.write_text("nom;ville\nA;Rouen\n", encoding="utf-8")
    at = app(monkeypatch, actors=bad)
    assert not at.exception
    assert any("colonne(s) obligatoire(s) absente(s)" in e.value for e in at.error)


@pytest.mark.parametrize(
    "page",
    [
        "views/qualite.py",
        "views/sources.py",
        "views/rgpd.py",
        "views/comptes.py",
        "views/couverture.py",
        "views/trouver.py",
        "views/presentation.py",
    ],
)
def test_other_pages_render(monkeypatch, page, accounts_file):
    at = sign_in(app(monkeypatch), "admin")
    at.switch_page(page).run()
    assert not at.exception
    assert at.title


def test_a_file_geocoded_offline_opens_with_actors_at_their_communes_and_a_notice(monkeypatch, tmp_path):
    from reseaux.territoire.geocode_file import geocode_file

    path = tmp_path / "actors.csv"
    path.write_text(
        "id;nom;type;adresse;code_postal;commune\n"
        "a;A (fictif);structure;1 rue X;76000;Rouen\n"
        "b;B (fictif);structure;2 rue Y;76120;Le Grand-Quevilly\n",
        encoding="utf-8",
    )
    geocode_file(path, offline=True, cache_path=tmp_path / "c.sqlite")
    at = app(monkeypatch, actors=path)
    assert not at.exception
    assert count_line(at).startswith("**2 acteurs sur 2**")  # both placed, none « sans position »
    assert any("2 acteurs placés au centre de la commune" in i.value for i in at.info)


def test_quality_page_geocodes_with_a_progress_bar_and_a_summary(monkeypatch, tmp_path):
    path = tmp_path / "actors.csv"
    path.write_text(
        "id;nom;type;adresse;code_postal;commune\na;A (fictif);structure;1 rue X;76000;Rouen\n", encoding="utf-8"
    )
    monkeypatch.setenv("RESEAUX_GEOCACHE", str(tmp_path / "c.sqlite"))
    accounts = tmp_path / "comptes.json"
    from reseaux.acces.accounts import AccountStore

    AccountStore(accounts).add("coord", "mot-de-passe-de-test", "coordinateur")
    monkeypatch.setenv("RESEAUX_ACCOUNTS", str(accounts))
    at = sign_in(app(monkeypatch, actors=path), "coord")
    at.switch_page("views/qualite.py").run()
    at.checkbox(key="geo_offline").check().run()
    next(b for b in at.button if b.label.startswith("Géocoder")).click().run()
    assert not at.exception
    assert any("1 placée à leur commune" in w.value for w in at.warning)
    assert ";commune" in path.read_text(encoding="utf-8")
    from reseaux.annuaire.store import DirectoryStore

    entry = DirectoryStore(path).read_journal()[-1]  # saved like any change: journal, backup
    assert (entry["qui"], entry["action"]) == ("coord", "géocodage")
    assert len(DirectoryStore(path).list_backups()) == 1


def test_filters_and_layers_survive_a_visit_to_another_page(monkeypatch, referential):
    at = app(monkeypatch)
    at.multiselect(key="f_themes").set_value(["ivg"]).run()
    at.multiselect(key="v_layers").set_value(["qpv", "cls"]).run()
    at.switch_page("views/sources.py").run()
    assert "v_layers" not in at.session_state  # Streamlit forgot the widget on the other page…
    at.switch_page("views/carte.py").run()
    # …and the map page comes back as it was left.
    assert at.multiselect(key="v_layers").value == ["qpv", "cls"]
    assert at.multiselect(key="f_themes").value == ["ivg"]
    assert "sur la thématique « IVG »" in count_line(at)


def test_a_large_directory_lists_its_first_thousand_rows_on_screen(monkeypatch, tmp_path):
    """1,500 public synthetic actors: the on-screen list, which would be partial, opens on
    request and stops at 1,000, and says so; the map and the count hold all 1,500 (a list of
    100,000 rows sent to the browser at every filter change was the page's largest cost; the
    table itself, drawn beside the map, 0.2 to 0.3 s of its first marker). Filtered down to 1,000
    or fewer, the list is whole and shown at once."""
    from bench.synthetic import synthetic_table
    from reseaux.annuaire.store import encode_table
    from reseaux.ui.carte import TABLE_ROWS

    path = tmp_path / "actors.csv"
    table = synthetic_table(1500)
    table["type"] = "structure"  # public: a visitor sees them all
    path.write_bytes(encode_table(table))
    monkeypatch.setenv("RESEAUX_GEOCACHE", str(tmp_path / "cache.sqlite"))
    at = app(monkeypatch, actors=path)
    assert not at.exception
    texts = [m.value.replace("\u202f", " ").replace("\xa0", " ") for m in [*at.markdown, *at.header, *at.caption]]
    assert any(t.startswith("**1 500 acteurs sur 1 500**") for t in texts), texts
    assert "Liste des acteurs affichés (1 500)" in texts
    assert not at.dataframe  # no table until asked
    switch = at.toggle(key="carte_liste_ouvrir")
    assert switch.label.replace("\u202f", " ") == "Afficher les 1 000 premiers" and switch.value is False
    assert [b.key for b in at.get("download_button")] == ["carte_csv", "carte_xlsx"]  # the whole list, at once
    switch.set_value(True).run()
    assert len(at.dataframe[0].value) == TABLE_ROWS == 1000
    at.multiselect(key="f_themes").set_value(["ivg"]).run()  # 127 (counted in the file): whole
    assert len(at.dataframe[0].value) == table["thematiques"].str.split("|").map(lambda t: "ivg" in t).sum() == 127
    at.multiselect(key="f_themes").set_value([]).run()  # the 1,500 again: still open, as asked
    assert len(at.dataframe[0].value) == TABLE_ROWS and at.toggle(key="carte_liste_ouvrir").value is True
    at.toggle(key="carte_liste_ouvrir").set_value(False).run()  # and closed again by the same switch
    assert not at.dataframe
    # Beyond what a workbook is built for (here 1,000), the list goes as CSV alone, and says why.
    monkeypatch.setattr("reseaux.annuaire.exports.WHOLE_FILE_MAX", 1000)
    at.run()
    assert [b.key for b in at.get("download_button")] == ["carte_csv"]
    said = next(c.value for c in at.caption if "CSV seulement" in c.value).replace("\u202f", " ")
    assert "Au-delà de 1 000 acteurs (1 500 ici)" in said
    at.multiselect(key="f_themes").set_value(["ivg"]).run()  # 127: the workbook again
    assert [b.key for b in at.get("download_button")] == ["carte_csv", "carte_xlsx"]


def test_the_workbook_limit_counts_what_the_file_holds_not_what_a_member_sees(monkeypatch, referential, accounts_file):
    """A member sees the members-only fiches and may not take them away: her workbook holds the
    public ones alone, and it is those the limit counts (counted here by the app's own rule on
    the demo file); the coordination's holds them all, and is refused at the same limit."""
    public, every = len(visible_demo(referential)), len(visible_demo(referential, "membre"))
    assert public < every
    monkeypatch.setattr("reseaux.annuaire.exports.WHOLE_FILE_MAX", public)
    at = sign_in(app(monkeypatch), "membre")
    assert count_line(at).startswith(f"**{every} acteurs sur {every}**")
    assert [b.key for b in at.get("download_button")] == ["carte_csv", "carte_xlsx"]
    at = sign_in(app(monkeypatch), "coord")
    assert [b.key for b in at.get("download_button")] == ["carte_csv"]
    said = next(c.value for c in at.caption if "CSV seulement" in c.value)
    assert f"({every} ici)" in said


def test_a_list_of_a_thousand_or_fewer_is_shown_at_once(monkeypatch, tmp_path):
    """The list shows every actor shown, with no request, when it holds them all: 1,000 synthetic
    public actors, the limit itself."""
    from bench.synthetic import synthetic_table
    from reseaux.annuaire.store import encode_table

    path = tmp_path / "actors.csv"
    table = synthetic_table(1000)
    table["type"] = "structure"
    path.write_bytes(encode_table(table))
    monkeypatch.setenv("RESEAUX_GEOCACHE", str(tmp_path / "cache.sqlite"))
    at = app(monkeypatch, actors=path)
    assert not at.exception
    assert len(at.dataframe[0].value) == 1000
    assert not [t for t in at.toggle if t.key == "carte_liste_ouvrir"]


def test_when_visitors_see_nothing_the_landing_page_has_one_sign_in_form(monkeypatch, accounts_file):
    """RESEAUX_VISITORS=rien once failed the landing page (the form in the sidebar and on the page:
    duplicate key « auth_form »)."""
    monkeypatch.setenv("RESEAUX_VISITORS", "rien")
    at = app(monkeypatch)
    assert not at.exception
    assert any("accès réservé" in t.value for t in at.title)
    assert len([w for w in at.text_input if w.key == "auth_name"]) == 1
    sign_in(at, "membre")
    assert not at.exception and count_line(at)  # signed in: the map and its count


@pytest.mark.parametrize("content", ["[1, 2]", '{"comptes": {"x": {"role": 3}}}', '{"comptes": []}', "\x00\xff"])
def test_a_malformed_accounts_file_gives_a_french_error_at_sign_in(monkeypatch, tmp_path, content):
    path = tmp_path / "comptes.json"
    path.write_text(content, encoding="latin-1")
    monkeypatch.setenv("RESEAUX_ACCOUNTS", str(path))
    at = sign_in(app(monkeypatch), "membre")
    assert not at.exception
    assert any("Fichier des comptes" in e.value for e in at.sidebar.error)


def test_quality_page_geocoding_names_the_spreadsheet_line_of_a_problem(monkeypatch, tmp_path):
    """The page geocoded the loaded table, whose blank rows are gone: a problem on line 4 of a file
    with a blank line 3 was said to be on line 3."""
    path = tmp_path / "actors.csv"
    path.write_text(
        "id;nom;type;adresse;code_postal;commune\na;A (fictif);structure;1 rue X;76000;Rouen\n;;;;;\n"
        "b;B (fictif);structure;2 rue Y;99999;Nulle-Part\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("RESEAUX_GEOCACHE", str(tmp_path / "c.sqlite"))
    accounts = tmp_path / "comptes.json"
    from reseaux.acces.accounts import AccountStore

    AccountStore(accounts).add("coord", "mot-de-passe-de-test", "coordinateur")
    monkeypatch.setenv("RESEAUX_ACCOUNTS", str(accounts))
    at = sign_in(app(monkeypatch, actors=path), "coord")
    at.switch_page("views/qualite.py").run()
    at.checkbox(key="geo_offline").check().run()
    next(b for b in at.button if b.label.startswith("Géocoder")).click().run()
    assert not at.exception
    problems = next(d.value for d in at.dataframe if "Ligne" in d.value.columns and "Problème" in d.value.columns)
    assert problems["Ligne"].tolist() == [4] and "commune introuvable" in problems["Problème"].item()


def test_a_shared_link_to_a_perimeter_away_from_the_directory_keeps_it(monkeypatch):
    """« Dans le périmètre » offers what the territory and the directory touch; a link that names
    another perimeter of a layer (the CA du Cotentin, far from the Métropole and its actors) keeps
    it, said in the sentence — it is not dropped silently. 0 actor: none of the demo stands there."""
    at = app(monkeypatch, perimetre="epci:200067205")
    assert at.selectbox(key="f_perimeter").value == "epci:200067205"
    assert count_line(at).startswith("**0 acteur sur")
    assert "dans le périmètre « EPCI de Normandie — CA du Cotentin »" in count_line(at)


@pytest.mark.parametrize("visitors", ["public", "rien"])
@pytest.mark.parametrize("who", [None, "membre", "coord", "admin"])
def test_the_accessibility_statement_opens_for_every_one(monkeypatch, accounts_file, visitors, who):
    """Every page says the state of conformity and links to the statement, which every role opens,
    a person with no account too, whether visitors see the map or not (RGAA)."""
    monkeypatch.setenv("RESEAUX_VISITORS", visitors)
    monkeypatch.setenv("RESEAUX_CONTACT_RGPD", "accessibilite@example.org")
    at = app(monkeypatch)
    if who:
        sign_in(at, who)
    links = [e for e in at.sidebar.get("page_link") if e.proto.page == "accessibilite"]
    assert [e.proto.label for e in links] == ["Accessibilité : non conforme"]
    at.switch_page("views/accessibilite.py").run()
    assert not at.exception
    assert at.title[0].value == "Accessibilité"
    text = re.sub(r"\\(.)", r"\1", "\n".join(m.value for m in at.markdown)).replace("\u2060", "")  # as read
    assert "Réseaux est **non conforme**" in text and "Défenseur des droits" in text
    assert "accessibilite@example.org" in text


def test_the_sources_and_credits_are_read_without_the_directory(monkeypatch, tmp_path):
    """The attribution of the layers shows whatever the directory is: a file that cannot be read
    stops the map, not the page that credits its sources (nor does that page read a million fiches)."""
    bad = tmp_path / "actors.csv"
    bad.write_text("nom;ville\nA;Rouen\n", encoding="utf-8")
    at = app(monkeypatch, actors=bad)
    assert any("colonne(s) obligatoire(s) absente(s)" in e.value for e in at.error)
    at.switch_page("views/sources.py").run()
    assert not at.exception and not at.error
    credited = at.dataframe[0].value
    assert {"Couche", "Source", "Licence", "Millésime"} <= set(credited.columns) and len(credited) >= 3
