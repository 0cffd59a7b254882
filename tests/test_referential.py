import pytest

from reseaux.referential import load_referential

ROUEN_THEMES = ["IVG", "Contraception", "IST/VIH/hépatites et dépistage", "Violences sexuelles",
                "Violences intrafamiliales", "Vie affective et sexuelle", "Transidentité",
                "Grossesse et périnatalité", "Précarité menstruelle", "Santé mentale", "Addictions",
                "Accès aux droits"]
PROFESSIONS = ["Médecin généraliste", "Sage-femme", "Gynécologue", "Masseur-kinésithérapeute", "Psychologue",
               "Sexologue", "Infirmier·ère", "Pharmacien·ne", "Travailleur·euse social·e",
               "Conseiller·ère conjugal·e et familial·e", "Médiateur·rice santé"]


def test_required_themes_and_professions_are_declared(referential):
    assert set(ROUEN_THEMES) <= set(referential.labels("thematique").values())
    assert set(PROFESSIONS) <= set(referential.labels("profession").values())
    assert set(referential.codes("type")) == {"structure", "professionnel", "aller_vers", "distribution"}


@pytest.mark.parametrize("value, code", [
    ("Sage-femme", "sage_femme"), ("SAGE FEMME", "sage_femme"), ("sages-femmes", "sage_femme"),
    ("sage_femme", "sage_femme"), ("  Gynécologue ", "gynecologue"), ("gynecologue", "gynecologue"),
    ("infirmière", "infirmier"),
])
def test_resolve_ignores_case_accents_and_spacing(referential, value, code):
    assert referential.resolve("profession", value) == code


def test_unknown_value_gets_the_closest_label(referential):
    assert referential.resolve("thematique", "contracepton") is None
    assert referential.suggest("thematique", "contracepton") == "Contraception"
    assert referential.suggest("profession", "kinée") == "Masseur-kinésithérapeute"
    assert referential.suggest("thematique", "football") is None


def test_a_broken_referential_lists_every_problem(tmp_path):
    path = tmp_path / "ref.csv"
    path.write_text("categorie,code,libelle,couleur,icone,alias\n"
                    "theme,ivg,IVG,#000,,\n"
                    "thematique,ivg,IVG,#000,,\n"
                    "thematique,ivg,IVG bis,#000,,\n"
                    "profession,,Sans code,#000,,\n", encoding="utf-8")
    with pytest.raises(ValueError) as info:
        load_referential(path)
    message = str(info.value)
    assert "ligne 2" in message and "catégorie « theme » inconnue" in message
    assert "ligne 4" in message and "déjà déclaré" in message
    assert "ligne 5" in message
