"""No dead end, in AppTest: what a page points a person to is a page this person may open."""

from __future__ import annotations

import pytest

from tests.conftest import sign_in
from tests.test_app import app

PROBLEMS = "id,nom,type,thematiques,commune\na,A,structure,IVG,Rouen\nb,B,structure,foot,\n"  # b: kept aside


@pytest.mark.parametrize("name, may_open_quality", [(None, False), ("membre", False), ("coord", True)])
def test_the_maps_problem_notice_points_only_where_the_role_may_go(monkeypatch, tmp_path, accounts_file,
                                                                   name, may_open_quality):
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
