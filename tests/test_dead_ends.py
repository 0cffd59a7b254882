"""No dead end, in AppTest: what a page points a person to is a page this person may open."""

from __future__ import annotations

import pytest

from tests.conftest import sign_in
from tests.test_app import app

PROBLEMS = "id,nom,type,thematiques,commune\na,A,structure,IVG,Rouen\nb,B,structure,foot,\n"  # b: kept aside


@pytest.mark.parametrize("name, may_open_quality", [(None, False), ("membre", False), ("coord", True)])
def test_the_maps_problem_notice_points_only_where_the_role_may_go(
    monkeypatch, tmp_path, accounts_file, name, may_open_quality
):
    monkeypatch.setenv("RESEAUX_VISITORS", "public")
    actors = tmp_path / "actors.csv"
    actors.write_text(PROBLEMS, encoding="utf-8")
    at = app(monkeypatch, actors=actors)
    if name:
        sign_in(at, name)
    notice = next(i.value for i in at.info if "sans position" in i.value or "écartée" in i.value)
    # Can this person open the quality page? Ask the page itself.
    at.switch_page("views/qualite.py").run()
    opened = any(t.value == "Qualité de l'annuaire" for t in at.title)
    assert opened is may_open_quality
    assert ("Qualité de l'annuaire" in notice) is opened
    if not opened:
        assert "à corriger par la coordination du réseau" in notice


def test_a_map_emptied_by_a_filter_names_it_and_takes_it_off_in_one_click(monkeypatch, referential):
    from tests.conftest import visible_demo
    from tests.test_app import count_line

    public = visible_demo(referential)  # what a visitor sees; counted here with pandas, not the filter
    on_ivg = int(public["thematiques"].map(lambda themes: "ivg" in themes).sum())
    assert 0 < on_ivg < len(public)
    assert not any(
        "zzqx" in str(v).lower() for v in public[["nom", "structure", "description", "specialites"]].values.ravel()
    )
    at = app(monkeypatch, theme="ivg", q="zzqx")
    assert count_line(at).startswith(f"**0 acteur sur {len(public)}**")
    warning = next(w.value for w in at.warning if "Aucun acteur ne correspond à ces filtres" in w.value)
    assert "C'est le filtre « recherche libre » qui vide la liste" in warning
    assert [b.label for b in at.button if str(b.key).startswith("carte_off_")] == [
        "Retirer le filtre « recherche libre »",
        "Effacer les filtres",
    ]
    at.button(key="carte_off_text").click().run()
    assert count_line(at).startswith(f"**{on_ivg} acteurs sur {len(public)}**")
    assert at.query_params["theme"] == "ivg" and "q" not in at.query_params
    assert not [b for b in at.button if str(b.key).startswith("carte_off_")]


def test_filters_that_empty_the_map_together_are_cleared_in_one_click(monkeypatch, referential):
    from tests.conftest import visible_demo
    from tests.test_app import count_line

    public = visible_demo(referential)
    at = app(monkeypatch, theme="ivg", q="zzqx", type="structure")
    at.button(key="carte_off_all").click().run()
    assert count_line(at).startswith(f"**{len(public)} acteurs sur {len(public)}**")
    assert at.multiselect(key="f_themes").value == [] and at.text_input(key="f_text").value == ""


def test_an_annuaire_search_with_no_match_says_so_and_is_cleared_in_one_click(monkeypatch, tmp_path):
    import csv

    from tests.test_annuaire_page import page

    at, path = page(monkeypatch, tmp_path)
    with open(path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert not any("zzqx" in " ".join(row.values()).lower() for row in rows)
    at.text_input(key="ann_search").input("zzqx").run()
    # No empty table of fiches: Streamlit's would say « empty », in English.
    assert not any(str(table.key).startswith("ann_table_") for table in at.dataframe)
    assert any("Aucune fiche ne contient « zzqx »" in i.value for i in at.info)
    at.button(key="ann_clear_search").click().run()
    assert at.text_input(key="ann_search").value == ""
    assert len(at.dataframe[0].value) == len(rows)
    assert not any("Aucune fiche ne contient" in i.value for i in at.info)


def test_couverture_with_no_actor_names_the_filters_and_takes_one_off(monkeypatch, referential):
    from tests.conftest import open_page, visible_demo

    public = visible_demo(referential)
    ivg = public["thematiques"].map(lambda themes: "ivg" in themes)
    distribution = public["type"] == "distribution"
    assert ivg.any() and distribution.any() and not (ivg & distribution).any()  # each alone finds some, not both
    at = open_page("couverture", theme="ivg", type="distribution")
    assert not at.exception
    warning = next(w.value for w in at.warning if "Aucun acteur de l'annuaire ne correspond à ces filtres" in w.value)
    assert "Chacun de ces filtres la vide : « type », « thématique »." in warning
    assert [b.label for b in at.button if str(b.key).startswith("cv_off_")] == [
        "Retirer le filtre « type »",
        "Retirer le filtre « thématique »",
        "Effacer les filtres",
    ]
    at.button(key="cv_off_types").click().run()
    assert at.multiselect(key="cv_types").value == [] and at.multiselect(key="cv_themes").value == ["ivg"]
    assert at.query_params["theme"] == "ivg" and "type" not in at.query_params
    assert not [w for w in at.warning if "Aucun acteur de l'annuaire" in w.value]
