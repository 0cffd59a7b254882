"""AppTest of « Présentation »: step through scenes; each scene has its URL."""

from streamlit.testing.v1 import AppTest

from reseaux.scenes import Scene, SceneStore
from tests.conftest import ROOT


def stage(monkeypatch, tmp_path, **query):
    store = SceneStore(tmp_path / "scenes.json")
    store.save([Scene("Premier <titre>", "Tout le réseau", id="un"),
                Scene("Deuxième", "IVG", {"theme": "ivg"}, ["qpv"], id="deux"),
                Scene("Troisième", "Maraudes", {"type": "aller_vers"}, ["qpv"], id="trois")])
    monkeypatch.setenv("RESEAUX_SCENES", str(store.path))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.switch_page("views/presentation.py")
    for key, value in {"plein_ecran": "1", **query}.items():
        at.query_params[key] = value
    return at.run()


def title(at):
    return next(m.value for m in at.markdown if "class=\"rx-stage\"" in m.value)


def test_step_through_the_scenes_with_the_buttons(monkeypatch, tmp_path):
    at = stage(monkeypatch, tmp_path)
    assert not at.exception
    assert "<h1>Premier &lt;titre&gt;</h1>" in title(at)  # escaped
    assert at.button(key="stage_prev").disabled
    at.button(key="stage_next").click().run()
    assert "<h1>Deuxième</h1>" in title(at) and at.query_params["scene"] == "deux"
    at.button(key="stage_next").click().run()
    assert "<h1>Troisième</h1>" in title(at) and at.button(key="stage_next").disabled
    at.button(key="stage_prev").click().run()
    assert "<h1>Deuxième</h1>" in title(at)


def test_each_scene_has_its_own_url(monkeypatch, tmp_path):
    at = stage(monkeypatch, tmp_path, scene="trois")
    assert "<h1>Troisième</h1>" in title(at)
    assert any("Scène 3 / 3" in m.value for m in at.markdown)


def test_editor_adds_a_scene_from_the_current_view(monkeypatch, tmp_path):
    store = SceneStore(tmp_path / "scenes.json")
    monkeypatch.setenv("RESEAUX_SCENES", str(store.path))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.switch_page("views/presentation.py").run()
    at.multiselect(key="f_themes").set_value(["ivg"]).run()
    at.text_input(key="pr_title").input("IVG dans la Métropole")
    at.button(key="FormSubmitter:pr_new-Ajouter la scène").click().run()
    assert not at.exception
    saved = store.load()
    assert [s.title for s in saved] == ["IVG dans la Métropole"] and saved[0].filters == {"theme": "ivg"}
