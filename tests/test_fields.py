"""The rule of each directory field with a format (reseaux.annuaire.fields), and that the file validation
and the fiche form read the same rule: a cell the file warns about is one the form refuses,
with the same sentence.

Right and wrong values are written by hand from the numbering plans and formats themselves
(ARCEP's plan: 10 digits from 01 to 09, overseas 0262/0269/0590/0594/0596/0639…, 07 numbers from
073 on — 0700 opens the 14-digit machine numbers —, short numbers 15, 115, 3114 (suicide
prevention), 3919 (Violences Femmes Info: a number this network's fiches carry); E.164: at most
15 digits after +; La Poste: 5-digit postcodes, 97xxx overseas, 98xxx Monaco and the Pacific).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from reseaux.annuaire import fields
from reseaux.annuaire.directory import WARNING, validate_record

RIGHT_PHONES = [
    "02 35 00 00 00",
    "0235000000",
    "02.35.00.00.00",
    "02-35-00-00-00",
    "06 12 34 56 78",
    "0262 20 00 00",
    "0269 61 00 00",
    "0590 82 00 00",
    "0594 29 00 00",
    "0596 55 00 00",
    "0639 69 00 00",
    "+33 2 35 00 00 00",
    "+33 (0)2 35 00 00 00",
    "0033 2 35 00 00 00",
    "+262 262 20 00 00",
    "+590 590 82 00 00",
    "+687 27 00 00",
    "+32 2 555 12 12",
    "+1 212 555 0100",
    "33235000000",
    "3919",
    "115",
    "15",
    "3114",
]
WRONG_PHONES = [
    "12",
    "999",
    "1234",
    "07 00 00 00 00",
    "02 35 00 00",
    "02 35 00 00 00 0",
    "00 00 00 00 00",
    "+33 02 35 00 00 00 0",
    "+33 0 35 00 00 00",
    "+0 123 456 789",
    "+1234567",
    "+1234567890123456",
    "02 35 00 00 OO",
    "06 12 34 56 78 (portable)",
    "=1+1",
    "tél. 02 35 00 00 00",
]


@pytest.mark.parametrize("written", RIGHT_PHONES)
def test_right_phone_numbers_are_kept_as_written(written):
    assert fields.phone(written) == fields.Reading(written)


@pytest.mark.parametrize("written", WRONG_PHONES)
def test_wrong_phone_numbers_are_said_with_an_example(written):
    reading = fields.phone(written)
    assert reading.problem.startswith(f"« {written} » n'est pas un numéro de téléphone")
    assert "ex. 02 35 00 00 00" in reading.problem and "+262" in reading.problem


def test_a_phone_that_lost_its_leading_zero_is_read_with_it_and_said():
    reading = fields.phone("235000000")
    assert reading.value == "02 35 00 00 00"
    assert reading.problem == "« 235000000 » : le zéro initial manquait, numéro lu « 02 35 00 00 00 »"


@pytest.mark.parametrize(
    "written, kept",
    [
        ("76000", "76000"),
        ("76 000", "76000"),
        ("01000", "01000"),
        ("20000", "20000"),
        ("20200", "20200"),
        ("97400", "97400"),
        ("97600", "97600"),
        ("98000", "98000"),
        ("98800", "98800"),
        ("", ""),
    ],
)
def test_right_postcodes(written, kept):
    assert fields.postcode(written) == fields.Reading(kept)


def test_wrong_postcodes_say_what_and_give_an_example():
    assert fields.postcode("7600").problem == (
        "« 7600 » n'est pas un code postal (5 chiffres) : ex. 76000, 97400 ; le zéro initial manque-t-il ? « 07600 »"
    )
    assert fields.postcode("2A004").problem.endswith("un code postal corse est en chiffres (ex. 20000)")
    for written in ("760000", "76OOO", "Rouen", "76000 Rouen"):
        assert fields.postcode(written).problem.startswith(f"« {written} » n'est pas un code postal (5 chiffres)")


@pytest.mark.parametrize("written", ["contact@planning76.fr", "o'neil@example.fr", "a.b+c@sous.domaine.org"])
def test_right_emails(written):
    assert fields.email(written) == fields.Reading(written)


@pytest.mark.parametrize("written", ["pas-un-courriel", "a@b", "a@@b.fr", "a b@c.fr", "a@b.fr <b>", "@b.fr"])
def test_wrong_emails(written):
    assert (
        fields.email(written).problem == f"« {written} » n'est pas une adresse électronique : ex. contact@structure.fr"
    )


@pytest.mark.parametrize(
    "written, kept",
    [
        ("https://www.planning76.fr/ivg?x=1", "https://www.planning76.fr/ivg?x=1"),
        ("http://exemple.fr", "http://exemple.fr"),
        ("www.exemple.fr", "https://www.exemple.fr"),
        ("exemple.fr", "https://exemple.fr"),
        ("sante.gouv.fr/ivg", "https://sante.gouv.fr/ivg"),
        ("", ""),
    ],
)
def test_web_addresses_bare_domains_get_https(written, kept):
    assert fields.website(written) == fields.Reading(kept)


@pytest.mark.parametrize(
    "written",
    [
        "javascript:alert(1)",
        "ftp://exemple.fr",
        "pas un site",
        "exemple",
        "https://",
        "https://x.fr/<script>",
        "mailto:a@b.fr",
    ],
)
def test_wrong_web_addresses(written):
    assert fields.website(written).problem == (
        f"« {written} » n'est pas une adresse web : ex. https://www.structure.fr ou structure.fr"
    )


@pytest.mark.parametrize(
    "written",
    [  # published by the ARS in « Lieux de vaccination contre la Covid-19 » (data.gouv.fr, 2021)
        "https://partners.doctolib.fr/centre-de-sante/saint-jean-d'aulps/centre-de-vaccination-covid-19-du-haut-chablais"
        "?speciality_id=5494&enable_cookies_consent=1",
        "https://partners.doctolib.fr/hopital-public/clermont-l'hérault/centre-de-vaccination-hopital-de-clermont-l-herault"
        "?pid=practice-164971?speciality_id=5494&enable_cookies_consent=1",
        "https://www.maiia.com/centre-hospitalier-(ch)/07100-annonay/centre-hospitalier-d-ardeche-nord-",
    ],
)
def test_a_published_address_with_an_apostrophe_or_brackets_is_a_link_to_the_same_page(written):
    """They were « pas une adresse web » and their fiches had no link. The characters that would end
    a link (in Markdown, in an attribute) are written as a browser sends them: the same address."""
    from urllib.parse import unquote

    reading = fields.website(written)
    assert reading.problem == "" and fields.valid_website(reading.value)
    assert not any(c in reading.value for c in "'()") and unquote(reading.value) == unquote(written)


def test_an_email_address_given_as_a_website_says_where_it_goes():
    assert fields.website("rdvvaccinationcovid.lmr@aphp.fr").problem == (
        "« rdvvaccinationcovid.lmr@aphp.fr » est une adresse électronique, pas une adresse web : écrivez-la dans « email »"
    )


def test_dates_in_the_app_formats_are_kept_as_iso():
    assert fields.update_date("2026-06-11") == fields.Reading("2026-06-11")
    assert fields.update_date("11/06/2026") == fields.Reading("2026-06-11")
    assert fields.update_date("11/06/26") == fields.Reading("2026-06-11")
    assert fields.update_date("hier").problem == (
        "« hier » n'est pas une date : AAAA-MM-JJ ou JJ/MM/AAAA, ex. 2026-06-11 ou 11/06/2026"
    )
    assert fields.update_date("31/02/2026").problem.startswith("« 31/02/2026 » n'est pas une date")
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    assert fields.update_date(tomorrow).problem.startswith(f"« {tomorrow} » : date dans le futur")


def test_codes_coordinates_and_yes_no():
    assert fields.insee("2a004") == fields.Reading("2A004") and fields.insee("76540") == fields.Reading("76540")
    assert fields.insee("7654").problem.endswith("ex. 76540 ou 2A004")
    assert fields.zones("76540|qn07619m") == fields.Reading("76540|QN07619M")
    assert (
        fields.zones("76540|Rouen").problem
        == "« Rouen » n'est ni un code INSEE (ex. 76540) ni un code QPV (ex. QN07619M)"
    )
    assert fields.coordinate("49,4431") == fields.Reading("49.4431")
    assert fields.coordinate("49°26'").problem == "« 49°26' » n'est pas un nombre décimal (ex. 49.4431)"
    assert fields.yes_no("Oui") == fields.Reading("oui") and fields.yes_no("peut-être").problem
    assert fields.visibility("Privée") == fields.Reading("membres") and fields.visibility("tous").problem


CASES = (
    [("telephone", v) for v in RIGHT_PHONES + WRONG_PHONES + ["235000000"]]
    + [("code_postal", v) for v in ("76000", "76 000", "7600", "2A004", "97400")]
    + [("email", v) for v in ("contact@planning76.fr", "pas-un-courriel")]
    + [("site_web", v) for v in ("exemple.fr", "https://exemple.fr", "javascript:alert(1)")]
    + [("date_maj", v) for v in ("2026-06-11", "hier")]
    + [("code_insee", v) for v in ("76540", "7654")]
    + [("zone_intervention", v) for v in ("76540", "Rouen")]
    + [("fictif", v) for v in ("oui", "peut-être")]
    + [("visibilite", v) for v in ("public", "tous")]
)


@pytest.mark.parametrize("column, written", CASES)
def test_the_file_validation_warns_with_the_rule_s_own_sentence(referential, column, written):
    """One rule: the validator warns about a cell exactly when the form's rule finds a problem,
    and its message begins with the rule's sentence (then says what the file does with it)."""
    record = {
        "id": "a",
        "nom": "A (fictif)",
        "type": "structure",
        "commune": "Rouen",
        "visibilite": "public",
        column: written,
    }
    _, issues = validate_record(record, referential)
    about = [i for i in issues if i.column == column and i.severity == WARNING]
    problem = fields.rules()[column](written).problem
    if problem:
        assert len(about) == 1 and about[0].message.startswith(problem), about
    else:
        assert about == []
