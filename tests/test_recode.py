"""The quality page lists unrecognised values and recodes them for every later file."""

import shutil

from streamlit.testing.v1 import AppTest

from reseaux.annuaire.columns import labels
from reseaux.annuaire.directory import load_directory
from reseaux.annuaire.referential import add_synonym, load_referential, unrecognised_values
from tests.conftest import ROOT, sign_in

DIRECTORY = (
    "id,nom,type,thematiques,commune\n"
    "a,A,structure,IVG|Planning,Rouen\n"
    "b,B,structure,Planning,Rouen\n"
    "c,C,Boutique solidaire,IVG,Rouen\n"
)


def files(tmp_path):
    referential = tmp_path / "referentiel.csv"
    shutil.copy(ROOT / "data" / "referentiel.csv", referential)
    actors = tmp_path / "actors.csv"
    actors.write_text(DIRECTORY, encoding="utf-8")
    return referential, actors


def test_unrecognised_values_are_counted_by_column(tmp_path):
    referential_path, actors = files(tmp_path)
    referential = load_referential(referential_path)
    directory = load_directory(actors, referential)
    assert len(directory.actors) == 3
    assert unrecognised_values(directory.issues, referential) == [
        ("thematiques", "thematique", "Planning", 2),
        ("type", "type", "Boutique solidaire", 1),
    ]


def test_a_synonym_is_remembered_for_every_later_file(tmp_path):
    referential_path, actors = files(tmp_path)
    before = referential_path.read_text(encoding="utf-8")
    add_synonym(referential_path, "thematique", "contraception", "Planning")
    after = referential_path.read_text(encoding="utf-8")
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert len(changed) == 1 and changed[0][1].endswith("|Planning")
    referential = load_referential(referential_path)
    directory = load_directory(actors, referential)
    assert directory.actors.set_index("id").loc["b", "thematiques"] == ("contraception",)
    assert unrecognised_values(directory.issues, referential) == [("type", "type", "Boutique solidaire", 1)]
    add_synonym(referential_path, "thematique", "contraception", "planning")  # already there: nothing to do
    assert referential_path.read_text(encoding="utf-8") == after


def test_a_synonym_of_another_entry_is_refused(tmp_path):
    referential_path, _ = files(tmp_path)
    try:
        add_synonym(referential_path, "thematique", "contraception", "IVG")
    except ValueError as exc:
        assert "désigne déjà « IVG »" in str(exc)
    else:
        raise AssertionError("IVG cannot become a synonym of contraception")


def test_the_quality_page_recodes_a_value(monkeypatch, tmp_path, accounts_file):
    referential_path, actors = files(tmp_path)
    monkeypatch.setenv("RESEAUX_ACTORS", str(actors))
    monkeypatch.setenv("RESEAUX_REFERENTIAL", str(referential_path))
    at = sign_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run(), "coord")
    at.switch_page("views/qualite.py").run()
    assert not at.exception
    table = next(df.value for df in at.dataframe if "Lignes" in df.value.columns)
    # The column by its label, as the fiche and the lists say it, not its code
    assert table.to_dict("records")[0] == {"Colonne": "Thématiques", "Valeur": "Planning", "Lignes": 2}
    problems = next(df.value for df in at.dataframe if "Gravité" in df.value.columns)
    assert set(problems["Colonne"]) >= {"Thématiques", "Type"} and not set(problems["Colonne"]) & set(labels())
    assert at.selectbox(key="recode_value").options[0] == "Thématiques : « Planning » (2)"
    at.selectbox(key="recode_value").set_value(0).run()
    at.selectbox(key="recode_code_0").set_value("contraception").run()
    next(b for b in at.button if b.label == "Retenir comme synonyme").click().run()
    assert not at.exception
    assert any(
        "« Planning » est maintenant un synonyme de « Contraception » (2 lignes reconnues)" in s.value
        for s in at.success
    )
    assert "|Planning" in referential_path.read_text(encoding="utf-8")
    table = next(df.value for df in at.dataframe if "Lignes" in df.value.columns)
    assert list(table["Valeur"]) == ["Boutique solidaire"]
