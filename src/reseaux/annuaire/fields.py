"""The format of each directory field that has one: one rule per field, read by the file
validation (:mod:`reseaux.annuaire.validation`), by the Annuaire's fiche form (:mod:`reseaux.ui.annuaire.fiches`)
and by the links of the search results (:mod:`reseaux.analyse.proximity`).

A rule takes a cell as written and returns a :class:`Reading`: the value to keep, normalised
(« 76 000 » → « 76000 », « structure.fr » → « https://structure.fr », « 11/06/2026 » →
« 2026-06-11 »), and, when the text is not right, ``problem``: a French sentence that quotes it,
says what is wrong and gives an example of a right value. What follows a problem is the
caller's business: a file keeps the row with a warning (and may drop the value); the form
refuses the fiche and shows the sentence under the field.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit

import phonenumbers
from phonenumbers import shortnumberinfo

from reseaux.acces.access import VISIBILITY_VALUES
from reseaux.annuaire import columns
from reseaux.text import fold, split_cell


@dataclass(frozen=True)
class Reading:
    """A cell read by its field's rule: ``value`` to keep, ``problem`` ("" when the cell is right)."""

    value: str
    problem: str = ""


# --- contacts --------------------------------------------------------------------------------

#: An e-mail address a link may be built from: one @, no space, no bracket, no markup.
_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
#: A bare domain, with or without « www. », a port and a path: « planning76.fr/ivg ».
_DOMAIN = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}(?::\d+)?(?:[/?#]\S*)?$")
#: What a phone number is written with: digits, spaces, dots, dashes, brackets (« +33 (0)2 … »).
_PHONE_CHARS = re.compile(r"^\+?[\d\s.\-()]+$")
#: A spreadsheet's number read back as text: « 231613131.0 » (not « 02.35.00.00.00 »).
_FLOAT = re.compile(r"^(\d+)\.0+$")
PHONE_EXAMPLE = "ex. 02 35 00 00 00, 0262 20 00 00 (outre-mer) ou +262 262 20 00 00"


def valid_email(value: str) -> bool:
    """Whether ``value`` is a plain e-mail address (links in results are built from these only)."""
    return bool(_EMAIL.match(value or ""))


def valid_website(value: str) -> bool:
    """Whether ``value`` is an http(s) address with a host and nothing that could end a link."""
    if not value or any(c in value for c in " \t\n<>[]()\"'`\\"):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def email(text: str) -> Reading:
    text = text.strip()
    if not text or valid_email(text):
        return Reading(text)
    return Reading(text, f"« {text} » n'est pas une adresse électronique : ex. contact@structure.fr")


#: Characters a published address holds (« …/saint-jean-d'aulps/… », « …/centre-hospitalier-(ch)/… »)
#: that would end a link written in Markdown or an attribute: written as the browser sends them.
_ENCODED = str.maketrans({"'": "%27", "(": "%28", ")": "%29"})


def website(text: str) -> Reading:
    """An http(s) address, or a bare domain (« www.structure.fr », « structure.fr ») given « https:// »;
    its apostrophes and brackets percent-encoded (the same address, see :data:`_ENCODED`)."""
    text = text.strip()
    if not text:
        return Reading("")
    address = (
        text if text.lower().startswith(("http://", "https://")) else ("https://" + text if _DOMAIN.match(text) else "")
    ).translate(_ENCODED)
    if valid_website(address):
        return Reading(address)
    if valid_email(text):
        return Reading(
            text, f"« {text} » est une adresse électronique, pas une adresse web : écrivez-la dans « email »"
        )
    return Reading(text, f"« {text} » n'est pas une adresse web : ex. https://www.structure.fr ou structure.fr")


def phone(text: str) -> Reading:
    """A number the numbering plans know, by the ``phonenumbers`` library (Google's libphonenumber
    metadata, updated with each plan change): a French number of 10 digits (mainland, or overseas:
    « 0262… » is read in Réunion's plan, « 0590… » in Guadeloupe's…), a short number of the French
    plan (« 3919 », « 115 »), or « + » (or « 00 ») and a country code. Nine digits without the
    first 0 (a spreadsheet read the number as a number) are read with it again, and said."""
    text = text.strip()
    if not text:
        return Reading("")
    bare = _FLOAT.sub(r"\1", text)
    digits = re.sub(r"\D", "", bare)
    if not _PHONE_CHARS.match(bare):
        return Reading(text, _not_a_phone(text))
    if len(digits) == 9 and not digits.startswith("0") and not bare.startswith("+") and _known("0" + digits):
        fixed = " ".join(("0" + digits)[i : i + 2] for i in range(0, 10, 2))
        return Reading(fixed, f"« {text} » : le zéro initial manquait, numéro lu « {fixed} »")
    if len(digits) == 11 and digits.startswith("33") and not bare.startswith(("+", "00")):
        bare = "+" + digits  # +33 written without its +
    if _known(bare) or (digits == bare.replace(" ", "") and len(digits) <= 6 and _short(digits)):
        return Reading(text)
    return Reading(text, _not_a_phone(text))


#: The numbering plans a number written the French way (« 0… ») may belong to: the mainland's,
#: then those of the overseas départements and collectivities, which libphonenumber keeps apart.
_PLANS = ("FR", "RE", "YT", "GP", "BL", "MF", "MQ", "GF", "PM")


@functools.lru_cache(maxsize=1 << 16)
def _known(number: str) -> bool:
    """Whether ``number`` is valid in one of :data:`_PLANS`. Kept for the numbers met last: a
    number the plans do not know is tried in nine of them (40 µs), and a directory repeats its
    numbers (a structure's switchboard on each of its members' fiches; the synthetic national
    directory of the benches, 10,000 numbers of the range reserved for fiction on a million
    fiches: 51 of the 128 s its validation took)."""
    for region in _PLANS:
        try:
            parsed = phonenumbers.parse(number, region)
        except phonenumbers.NumberParseException:
            return False
        if phonenumbers.is_valid_number(parsed):
            return True
        if number.startswith("+"):
            return False  # a country code names its own plan
    return False


@functools.lru_cache(maxsize=1 << 12)
def _short(digits: str) -> bool:
    """A short number of the French plan (« 15 », « 115 », « 3919 »)."""
    return shortnumberinfo.is_valid_short_number_for_region(phonenumbers.parse(digits, "FR"), "FR")


def _not_a_phone(text: str) -> str:
    return (
        f"« {text} » n'est pas un numéro de téléphone : 10 chiffres, un numéro court (3919) ou + et "
        f"l'indicatif du pays, {PHONE_EXAMPLE}"
    )


# --- codes -----------------------------------------------------------------------------------

_POSTCODE = re.compile(r"^\d{5}$")
_INSEE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
_QPV = re.compile(r"^QN\d{5}[A-Z]$")


def postcode(text: str) -> Reading:
    """Five digits, spaces removed (« 76 000 »): mainland, Corsica (20xxx) and overseas (97xxx, 98xxx)."""
    value = re.sub(r"\s", "", text)
    if not value or _POSTCODE.match(value):
        return Reading(value)
    if value.isdigit() and len(value) == 4:
        hint = f" ; le zéro initial manque-t-il ? « {value.zfill(5)} »"
    elif _INSEE.match(value.upper()):
        hint = " ; 2A et 2B sont des codes INSEE : un code postal corse est en chiffres (ex. 20000)"
    else:
        hint = ""
    return Reading(value, f"« {text.strip()} » n'est pas un code postal (5 chiffres) : ex. 76000, 97400{hint}")


def insee(text: str) -> Reading:
    """A commune's INSEE code: five digits, or 2A / 2B and three digits (Corsica)."""
    value = text.strip().upper()
    if not value or _INSEE.match(value):
        return Reading(value)
    return Reading(value, f"« {text.strip()} » n'est pas un code INSEE de commune (5 caractères) : ex. 76540 ou 2A004")


def zone(code: str) -> Reading:
    """One code of an outreach action's area: a commune's INSEE code or a QPV code."""
    value = code.strip().upper()
    if _INSEE.match(value) or _QPV.match(value):
        return Reading(value)
    return Reading(code, f"« {code.strip()} » n'est ni un code INSEE (ex. 76540) ni un code QPV (ex. QN07619M)")


def zones(text: str) -> Reading:
    """A cell of codes separated by « | » (:func:`zone` each), joined again by « | »."""
    readings = [zone(code) for code in split_cell(text)]
    problems = [r.problem for r in readings if r.problem]
    return Reading("|".join(r.value for r in readings), " ; ".join(problems))


# --- numbers, dates, yes/no ------------------------------------------------------------------


def decimal(text: str) -> float | None:
    """The number a cell gives, « , » or « . » for the decimals, spaces ignored; None if none."""
    try:
        return float(text.replace(",", ".").replace(" ", ""))
    except ValueError:
        return None


def coordinate(text: str) -> Reading:
    """A latitude or longitude in decimal degrees (its place in France is checked with the pair)."""
    text = text.strip()
    if not text or decimal(text) is not None:
        return Reading(text.replace(",", ".").replace(" ", ""))
    return Reading(text, f"« {text} » n'est pas un nombre décimal (ex. 49.4431)")


DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%Y-%m-%d %H:%M:%S")


def parse_date(value: str) -> date | None:
    """The date a ``date_maj`` cell gives (``AAAA-MM-JJ`` or ``JJ/MM/AAAA``, or an ISO moment of
    that day: ``2021-03-03 12:00:01.971072``, ``2021-03-03T12:00:01+01:00``), or None.

    One reading for validation, the stale list and display: a generic parser told « day
    first » reads « 2023-09-01 » as 9 January.
    """
    text = str(value).strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    if len(text) > 10 and text[4:5] == "-":  # a moment as databases export it: « 2021-03-03 12:00:01.971072 »
        try:
            return datetime.fromisoformat(text).date()
        except ValueError:
            return None
    return None


def today() -> date:
    """The day a validation reads dates against (« dans le futur »): what a reading depends on
    besides a file's cells, so the caches of readings are kept per day (``app_data``, ``loading``)."""
    return date.today()


def update_date(text: str) -> Reading:
    """A day of the past or today, kept as AAAA-MM-JJ."""
    text = text.strip()
    if not text:
        return Reading("")
    parsed = parse_date(text)
    if parsed is None:
        return Reading(text, f"« {text} » n'est pas une date : AAAA-MM-JJ ou JJ/MM/AAAA, ex. 2026-06-11 ou 11/06/2026")
    if parsed > today():
        return Reading(
            text, f"« {text} » : date dans le futur ; écrivez le jour de la mise à jour, au plus aujourd'hui"
        )
    return Reading(parsed.isoformat())


YES = frozenset({"oui", "o", "vrai", "true", "1", "x", "yes"})
NO = frozenset({"non", "n", "faux", "false", "0", "no", ""})


def yes_no(text: str) -> Reading:
    """« oui » or « non » (and their spreadsheet spellings: vrai, x, 1, faux, 0…); empty is « non »."""
    folded = fold(text)
    if folded in YES:
        return Reading("oui")
    if folded in NO:
        return Reading("non" if folded else "")
    return Reading(text.strip(), f"« {text.strip()} » : valeur attendue oui ou non")


_VISIBILITY_WORDS = {
    "membre": "membres",
    "prive": "membres",
    "privee": "membres",
    "reserve": "membres",
    "reservee": "membres",
}


def visibility(text: str) -> Reading:
    """« public » or « membres » (« privé », « réservé »… are « membres »); empty: the default rule."""
    folded = fold(text)
    folded = _VISIBILITY_WORDS.get(folded, folded)
    if not folded or folded in VISIBILITY_VALUES:
        return Reading(folded)
    return Reading(
        text.strip(),
        f"« {text.strip()} » : valeur attendue public ou membres (ou vide : membres pour "
        "une personne ou une fiche à classer, public pour un établissement)",
    )


#: The rule of each kind of column that has a format (:mod:`reseaux.annuaire.columns`).
KIND_RULES: dict[str, Callable[[str], Reading]] = {
    columns.POSTCODE: postcode,
    columns.INSEE: insee,
    columns.ZONES: zones,
    columns.COORDINATE: coordinate,
    columns.PHONE: phone,
    columns.EMAIL: email,
    columns.URL: website,
    columns.DATE: update_date,
    columns.YES_NO: yes_no,
    columns.VISIBILITY: visibility,
}


def rules() -> dict[str, Callable[[str], Reading]]:
    """``{column: rule}`` of every directory column whose kind has a format."""
    return {c.name: KIND_RULES[c.kind] for c in columns.columns() if c.kind in KIND_RULES}


def read_fields(record: Mapping[str, object], names: Iterable[str]) -> dict[str, Reading]:
    """The reading of each of ``names`` that has a rule, from ``record``'s text (a missing cell is empty)."""
    known = rules()
    return {name: known[name](str(record.get(name, "") or "")) for name in names if name in known}
