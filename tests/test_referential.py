import pytest

from reseaux.annuaire.referential import load_referential

ROUEN_THEMES = [
    "IVG",
    "Contraception",
    "IST/VIH/hépatites et dépistage",
    "Violences sexuelles",
    "Violences intrafamiliales",
    "Vie affective et sexuelle",
    "Transidentité",
    "Grossesse et périnatalité",
    "Précarité menstruelle",
    "Santé mentale",
    "Addictions",
    "Accès aux droits",
]
PROFESSIONS = [
    "Médecin généraliste",
    "Sage-femme",
    "Gynécologue",
    "Masseur-kinésithérapeute",
    "Psychologue",
    "Sexologue",
    "Infirmier·ère",
    "Pharmacien·ne",
    "Travailleur·euse social·e",
    "Conseiller·ère conjugal·e et familial·e",
    "Médiateur·rice santé",
]


def test_required_themes_and_professions_are_declared(referential):
    assert set(ROUEN_THEMES) <= set(referential.labels("thematique").values())
    assert set(PROFESSIONS) <= set(referential.labels("profession").values())
    assert set(referential.codes("type")) >= {"structure", "professionnel", "aller_vers", "distribution", "a_classer"}


@pytest.mark.parametrize(
    "value, code",
    [
        ("Sage-femme", "sage_femme"),
        ("SAGE FEMME", "sage_femme"),
        ("sages-femmes", "sage_femme"),
        ("sage_femme", "sage_femme"),
        ("  Gynécologue ", "gynecologue"),
        ("gynecologue", "gynecologue"),
        ("infirmière", "infirmier"),
    ],
)
def test_resolve_ignores_case_accents_and_spacing(referential, value, code):
    assert referential.resolve("profession", value) == code


def test_unknown_value_gets_the_closest_label(referential):
    assert referential.resolve("thematique", "contracepton") is None
    assert referential.suggest("thematique", "contracepton") == "Contraception"
    assert referential.suggest("profession", "kinée") == "Masseur-kinésithérapeute"
    assert referential.suggest("thematique", "football") is None


def test_a_broken_referential_lists_every_problem(tmp_path):
    path = tmp_path / "ref.csv"
    path.write_text(
        "categorie,code,libelle,couleur,icone,alias\n"
        "theme,ivg,IVG,#000,,\n"
        "thematique,ivg,IVG,#000,,\n"
        "thematique,ivg,IVG bis,#000,,\n"
        "profession,,Sans code,#000,,\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError) as info:
        load_referential(path)
    message = str(info.value)
    assert "ligne 2" in message and "catégorie « theme » inconnue" in message
    assert "ligne 4" in message and "déjà déclaré" in message
    assert "ligne 5" in message


# Suggestions close in meaning only, and the vocabulary of the field.
MISLEADING = [
    ("thematique", "PrEP"),
    ("thematique", "stérilet"),
    ("thematique", "DIU"),
    ("profession", "interprète"),
    ("public", "Enfants 0-3 ans"),
]


@pytest.mark.parametrize("category, value", MISLEADING)
def test_no_suggestion_far_in_meaning(tmp_path, category, value):
    from tests.test_unknown_values import OLD_REFERENTIAL

    path = tmp_path / "ref.csv"
    path.write_text(OLD_REFERENTIAL, encoding="utf-8")
    old = load_referential(path)
    assert old.resolve(category, value) is None
    assert old.suggest(category, value) is None


@pytest.mark.parametrize(
    "category, value, code",
    [
        ("thematique", "PrEP", "prep"),
        ("thematique", "stérilet", "contraception"),
        ("thematique", "DIU", "contraception"),
        ("thematique", "Implant", "contraception"),
        ("thematique", "contraception d'urgence", "contraception"),
        ("thematique", "TPE", "tpe"),
        ("thematique", "traitement post-exposition", "tpe"),
        ("thematique", "TROD et autotests", "ist_vih"),
        ("thematique", "autotest VIH", "ist_vih"),
        ("thematique", "HPV", "vaccination"),
        ("thematique", "hépatite B", "vaccination"),
        ("thematique", "Santé LGBT", "sante_lgbt"),
        ("thematique", "parcours trans", "transidentite"),
        ("thematique", "MGF", "mutilations"),
        ("thematique", "excision", "mutilations"),
        ("thematique", "travail du sexe", "travail_sexe"),
        ("thematique", "Chemsex", "chemsex"),
        ("thematique", "suivi gynécologique", "suivi_gyneco"),
        ("thematique", "grossesse", "perinatalite"),
        ("thematique", "ménopause", "menopause"),
        ("thematique", "infertilité", "infertilite"),
        ("thematique", "éducation à la sexualité", "vas"),
        ("thematique", "conseil conjugal", "conseil_conjugal"),
        ("public", "femmes enceintes", "femmes_enceintes"),
        ("public", "personnes trans", "personnes_trans"),
        ("public", "PVVIH", "pvvih"),
        ("public", "HSH", "hsh"),
        ("public", "personnes exilées", "migrants"),
        ("public", "personnes détenues", "detenus"),
        ("public", "familles", "familles"),
        ("public", "Enfants", "enfants"),
        ("public", "adolescent·es", "jeunes"),
        ("modalite", "Sur rendez-vous uniquement", "sur_rdv"),
        ("modalite", "avec ou sans rendez-vous", "sans_rdv"),
        ("modalite", "permanence", "permanence"),
        ("modalite", "hors les murs", "hors_les_murs"),
        ("modalite", "équipe mobile", "hors_les_murs"),
        ("modalite", "tiers payant", "tiers_payant"),
        ("modalite", "confidentiel", "confidentiel"),
        ("accessibilite", "accessible fauteuil", "pmr"),
        ("accessibilite", "ascenseur", "ascenseur"),
        ("accessibilite", "sous-titrage", "sous_titrage"),
        ("type", "CeGIDD", "structure"),
        ("type", "CPEF", "structure"),
        ("type", "centre de santé sexuelle", "structure"),
        ("type", "PMI", "structure"),
        ("type", "CSAPA", "structure"),
        ("type", "CAARUD", "structure"),
        ("type", "CMP", "structure"),
        ("type", "pharmacie", "pharmacie"),
        ("type", "pharmacy", "pharmacie"),
        ("type", "laboratoire", "laboratoire"),
        ("type", "unité mobile", "aller_vers"),
        ("type", "boîte à dons", "distribution"),
        ("type", "Centre Hospitalier (C.H.)", "hopital"),
        ("type", "CHU", "hopital"),
        ("type", "clinique", "hopital"),
        ("type", "hôpital", "hopital"),
        ("profession", "gynécologue médicale", "gynecologue_medical"),
        ("profession", "IPA", "ipa"),
        ("profession", "psychiatre", "psychiatre"),
        ("profession", "dermato-vénérologue", "dermato_venerologue"),
        ("profession", "pédiatre", "pediatre"),
        ("profession", "puéricultrice", "puericulteur"),
        ("profession", "médiateur·rice en santé", "mediateur_sante"),
        ("profession", "juriste", "juriste"),
        ("profession", "interprète", "interprete"),
        ("profession", "pair-aidante", "pair_aidant"),
        ("profession", "doctor", "medecin_generaliste"),
        ("profession", "midwife", "sage_femme"),
        ("profession", "nurse", "infirmier"),
        ("profession", "pharmacy", "pharmacien"),
    ],
)
def test_the_referential_speaks_the_field(referential, category, value, code):
    assert referential.resolve(category, value) == code


def test_no_synonym_names_two_entries_of_a_category(referential):
    from reseaux.text import fold

    for category, entries in referential.entries.items():
        seen: dict[str, str] = {}
        for entry in entries:
            for key in {fold(k) for k in (entry.code, entry.label, *entry.aliases)}:
                assert seen.setdefault(key, entry.code) == entry.code, (category, key)


def test_a_value_holding_a_synonym_gets_it_as_suggestion(referential):
    assert referential.suggest("accessibilite", "Cabinet accessible fauteuil") == "Accessible PMR"
    assert referential.suggest("thematique", "ist") is not None  # a short exact key still counts
    assert referential.suggest("public", "Enfants") == "Enfants"
