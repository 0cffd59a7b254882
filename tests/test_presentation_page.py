"""AppTest of « Présentation »: step through scenes, open a scene in the editor, leave full screen,
export after the HTML export, and who may change the shared scenes."""

from __future__ import annotations

import hashlib

import pytest
from streamlit.testing.v1 import AppTest

from reseaux.carte.scenes import Scene, SceneStore
from tests.conftest import ROOT, sign_in, visible_demo

SCENES = [
    Scene("Premier <titre>", "{n} dans le réseau", id="un"),
    Scene("Deuxième", "IVG", {"theme": "ivg"}, ["qpv"], "positron", "profession", id="deux"),
    Scene("Troisième", "Maraudes", {"type": "aller_vers"}, ["qpv"], id="trois"),
]


@pytest.fixture()
def scenes(monkeypatch, tmp_path) -> SceneStore:
    store = SceneStore(tmp_path / "scenes.json")
    store.save(SCENES)
    monkeypatch.setenv("RESEAUX_SCENES", str(store.path))
    return store


def app(**query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.switch_page("views/presentation.py")
    for key, value in query.items():
        at.query_params[key] = value
    return at


def stage(**query) -> AppTest:
    return app(plein_ecran="1", **query).run()


def title(at) -> str:
    return next(m.value for m in at.markdown if 'class="rx-stage"' in m.value)


def bar(at) -> str:
    return next(m.value for m in at.markdown if "class='rx-bar'" in m.value)


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- full screen -------------------------------------------------------------------------------


def test_step_through_the_scenes_with_the_buttons(scenes):
    at = stage()
    assert not at.exception
    assert "<h1>Premier &lt;titre&gt;</h1>" in title(at)  # escaped
    assert at.button(key="stage_prev").disabled
    at.button(key="stage_next").click().run()
    assert "<h1>Deuxième</h1>" in title(at) and at.query_params["scene"] == "deux"
    at.button(key="stage_next").click().run()
    assert "<h1>Troisième</h1>" in title(at) and at.button(key="stage_next").disabled
    at.button(key="stage_prev").click().run()
    assert "<h1>Deuxième</h1>" in title(at)
    assert not at.exception


def test_each_scene_has_its_own_url(scenes):
    at = stage(scene="trois")
    assert "<h1>Troisième</h1>" in title(at)
    assert "Scène 3 / 3" in bar(at)


def test_counts_are_those_of_the_person_looking(scenes, referential, accounts_file):
    visitor = len(visible_demo(referential, "visiteur"))
    at = stage(scene="un")
    assert f"<p>{visitor} partenaires dans le réseau</p>" in title(at)  # {n}, for a visitor
    assert f"{visitor} acteurs" in bar(at)
    at = app().run()  # a member, signed in, then the same scene in full screen
    sign_in(at, "membre")
    at.query_params.update(plein_ecran="1", scene="un")
    at.run()
    assert "<p>185 partenaires dans le réseau</p>" in title(at) and "185 acteurs" in bar(at)


def test_quit_full_screen_returns_to_the_editor_on_that_scene(scenes):
    at = stage(scene="deux")
    at.button(key="stage_quit").click().run()
    assert not at.exception
    assert "plein_ecran" not in at.query_params and at.query_params["scene"] == "deux"
    assert at.title[0].value == "Présentation et exports"
    assert at.multiselect(key="f_themes").value == ["ivg"]
    assert at.radio(key="v_color").value == "profession"
    assert at.selectbox(key="pr_scene").value == "deux"


def test_an_unknown_scene_shows_the_first_and_says_so(scenes):
    at = stage(scene="disparue")
    assert not at.exception
    assert "<h1>Premier &lt;titre&gt;</h1>" in title(at)
    assert any("n'existe plus" in t.value for t in at.toast)


def test_without_scenes_the_stage_says_so_and_leads_back(monkeypatch, tmp_path):
    monkeypatch.setenv("RESEAUX_SCENES", str(tmp_path / "aucune.json"))
    at = stage()
    assert not at.exception
    assert "Aucune scène enregistrée" in at.warning[0].value
    at.button(key="stage_quit").click().run()
    assert not at.exception and at.title[0].value == "Présentation et exports"


# --- the editor --------------------------------------------------------------------------------


def test_a_scene_url_without_full_screen_opens_the_editor_on_that_scene(scenes):
    at = app(scene="deux").run()
    assert not at.exception
    assert at.multiselect(key="f_themes").value == ["ivg"]
    assert at.multiselect(key="v_layers").value == ["qpv"]
    assert at.selectbox(key="v_basemap").value == "positron"
    assert at.selectbox(key="pr_scene").value == "deux"


def test_choosing_a_saved_scene_fills_the_sidebar(scenes):
    at = app().run()
    at.selectbox(key="pr_scene").select("trois").run()
    assert not at.exception  # was StreamlitAPIException: f_types written after its widget was drawn
    assert at.multiselect(key="f_types").value == ["aller_vers"]
    assert at.query_params["scene"] == "trois"
    at.selectbox(key="pr_scene").select("deux").run()
    assert at.multiselect(key="f_types").value == [] and at.multiselect(key="f_themes").value == ["ivg"]
    assert not at.exception


def test_every_export_is_offered_after_the_html_export(scenes):
    at = app(scene="deux").run()
    at.button(key="pr_html_make").click().run()
    assert not at.exception  # was: st.session_state['pr_html'] is read-only
    keys = {b.proto.id.rsplit("-", 1)[-1] for b in at.get("download_button")}
    assert {"pr_html_dl", "pr_csv", "pr_xlsx", "pr_geojson", "pr_p_csv", "pr_p_xlsx", "pr_p_geojson"} <= keys
    assert any("<iframe src=" in c.value and "scene=deux" in c.value for c in at.code)
    at.button(key="pr_html_make").click().run()  # twice: still fine
    assert not at.exception


def test_a_view_beyond_what_a_standalone_map_holds_is_not_prepared_and_says_why(scenes, monkeypatch, referential):
    """A standalone map carries each actor's fiche: beyond its limit the buttons are off and the
    page says how many the view shows and what to do; a filter under the limit gives them back."""
    from reseaux.ui import presentation_exports

    shown = len(visible_demo(referential))
    monkeypatch.setattr(presentation_exports, "MAP_EXPORT_MAX", shown - 1)
    at = app().run()
    assert not at.exception
    assert at.button(key="pr_html_make").disabled and at.button(key="pr_png_make").disabled
    said = next(c.value for c in at.caption if "tiennent au plus" in c.value)
    assert f"la vue en montre {shown}" in said and "filtrez-la" in said
    assert {"pr_csv", "pr_xlsx", "pr_geojson"} <= {b.proto.id.rsplit("-", 1)[-1] for b in at.get("download_button")}
    at.multiselect(key="f_themes").select("ivg").run()
    assert not at.button(key="pr_html_make").disabled
    at.button(key="pr_html_make").click().run()
    assert not at.exception and "pr_html_dl" in {b.proto.id.rsplit("-", 1)[-1] for b in at.get("download_button")}


def test_beyond_a_workbook_the_actors_are_exported_as_csv_and_it_says_why(scenes, monkeypatch, referential):
    shown = len(visible_demo(referential))
    monkeypatch.setattr("reseaux.annuaire.exports.WHOLE_FILE_MAX", shown - 1)
    at = app().run()
    assert not at.exception
    offered = {b.proto.id.rsplit("-", 1)[-1] for b in at.get("download_button")}
    assert "pr_csv" in offered and not offered & {"pr_xlsx", "pr_geojson"}
    assert any(f"({shown} ici)" in c.value and "CSV seulement" in c.value for c in at.caption)


def test_a_visitor_presents_and_exports_but_cannot_change_the_scenes(scenes):
    before = digest(scenes.path)
    at = app().run()
    assert not at.exception
    names = {b.key for b in at.button}
    assert not {k for k in names if k and k.startswith(("pr_up_", "pr_down_", "pr_del_"))}
    assert "pr_title" not in {t.key for t in at.text_input}  # no « Ajouter la scène » form
    assert any("seule la coordination" in i.value for i in at.info)
    at.selectbox(key="pr_scene").select("deux").run()
    at.button(key="pr_html_make").click().run()
    assert not at.exception and at.get("download_button")
    assert digest(scenes.path) == before


def test_coordination_adds_reorders_and_deletes_scenes(scenes, accounts_file):
    at = app().run()
    sign_in(at, "coord")
    at.multiselect(key="f_themes").set_value(["ivg"]).run()
    at.text_input(key="pr_title").input("IVG dans la Métropole")
    at.text_input(key="pr_comment").input("{n} pour l'IVG")
    at.button(key="FormSubmitter:pr_new-Ajouter la scène").click().run()
    assert not at.exception
    saved = scenes.load()
    assert [s.title for s in saved][-1] == "IVG dans la Métropole" and saved[-1].filters == {"theme": "ivg"}
    at.button(key="pr_down_un").click().run()
    assert [s.id for s in scenes.load()][:2] == ["deux", "un"]
    at.button(key="pr_del_trois").click().run()
    assert "trois" not in [s.id for s in scenes.load()]
    assert not at.exception


def test_a_member_cannot_change_the_scenes_either(scenes, accounts_file):
    before = digest(scenes.path)
    at = app().run()
    sign_in(at, "membre")
    assert not [b for b in at.button if b.key and b.key.startswith(("pr_up_", "pr_down_", "pr_del_"))]
    assert digest(scenes.path) == before


def test_members_only_fiches_leave_the_app_with_the_coordination_only(scenes, referential, accounts_file):
    """A member sees members-only phones on screen but exports public fiches only; the
    coordination exports every fiche (docs/guide-utilisateur.md, « Qui voit quoi »)."""
    from reseaux.acces.access import EXPORT_NOTICE, exportable_actors

    everyone = visible_demo(referential, "coordinateur")
    public = visible_demo(referential, "visiteur")
    assert len(exportable_actors(everyone, "membre")) == len(public) < len(everyone)
    assert len(exportable_actors(everyone, "coordinateur")) == len(everyone)
    member = sign_in(app().run(), "membre")
    assert EXPORT_NOTICE in [c.value for c in member.caption]
    coordination = sign_in(app().run(), "coord")
    assert EXPORT_NOTICE not in [c.value for c in coordination.caption]
    assert not member.exception and not coordination.exception


def test_the_scene_picker_writes_the_count_not_its_code(monkeypatch, tmp_path, referential):
    """« {n} » of a title was shown as it is in the picker and the embedding code."""
    store = SceneStore(tmp_path / "scenes.json")
    store.save([Scene("{n} pour l'IVG", "", {"theme": "ivg"}, ["qpv"], id="ivg")])
    monkeypatch.setenv("RESEAUX_SCENES", str(store.path))
    ivg = int(visible_demo(referential, "visiteur")["thematiques"].map(lambda themes: "ivg" in themes).sum())
    at = app().run()
    assert not at.exception
    assert at.selectbox(key="pr_scene").options == [f"1. {ivg} partenaires pour l'IVG"]
    assert not [m.value for m in at.markdown if "{n}" in m.value]
    assert not [c.value for c in at.code if "{n}" in c.value]
    assert f'title="{ivg} partenaires pour l&#39;IVG"' in at.code[0].value
