"""Text helpers shared by validation, filters and search: one normalisation for all."""

from __future__ import annotations

import re

from unidecode import unidecode

_NON_WORD = re.compile(r"[^a-z0-9]+")


def normalize(value: str) -> str:
    """Fold ``value`` for comparison: no accents, lower case, punctuation and spaces collapsed.

    « Sage-Femme », « sage femme » and « SAGE  FEMME » all give ``"sage femme"``; the
    inclusive-writing middle dot is dropped so « infirmier·ère » gives ``"infirmier ere"``.
    """
    return _NON_WORD.sub(" ", unidecode(str(value)).lower()).strip()


def split_cell(value: str, *, separators: str = "|;") -> list[str]:
    """Split a multi-valued cell on the first of ``separators`` it contains; drop empty parts."""
    text = str(value or "").strip()
    if not text:
        return []
    for sep in separators:
        if sep in text:
            return [part.strip() for part in text.split(sep) if part.strip()]
    return [text]


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:@&])")
#: Where Streamlit's Markdown (remark-gfm) finds a bare address in text already unescaped:
#: « https:// », « www. » and the « @ » of an e-mail. A word joiner (U+2060, invisible) after
#: each keeps the regex from matching: a backslash cannot, it is gone by the time that runs.
_BARE_LINK = re.compile(r"(://|www(?=\.)|@)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def md_escape(value: str) -> str:
    """``value`` as literal text in Streamlit Markdown (st.markdown, st.caption, st.error…, widget
    labels): no emphasis, heading, list, table, link, image, autolink, address made a link
    (``https://…``, ``www.…``, ``a@b.fr``), HTML, LaTeX, colour, icon nor line break. What comes
    from a URL, a file or a fiche goes through here before it reaches a Markdown string."""
    text = re.sub(r"[\r\n]+", " ", str(value or ""))
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _BARE_LINK.sub(r"\1" + WORD_JOINER, text))


# --- French formatting: one place for numbers, distances, dates and plurals -------------------

NBSP = "\u202f"  # narrow no-break space: the French thousands separator (« 24 877 »)
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre")


def fr_number(value: float | int | None, decimals: int = 0, *, empty: str = "") -> str:
    """``value`` written the French way: « 24 877 », « 0,05 », « 1 234,5 »; ``empty`` for a
    missing value (None or NaN). Trailing zeros of the decimals are dropped (« 10 », not « 10,00 »)."""
    if value is None or value != value:
        return empty
    text = f"{float(value):,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text.replace(",", NBSP).replace(".", ",")


def fr_distance(metres: float | None, *, empty: str = "") -> str:
    """A distance for people: « 350 m », « 1,2 km », « 24 km »."""
    if metres is None or metres != metres:
        return empty
    if metres < 1000:
        return f"{fr_number(round(metres))} m"
    return f"{fr_number(metres / 1000, 1 if metres < 10_000 else 0)} km"


def fr_date(value, *, empty: str = "") -> str:
    """A date as people read it: « 11 juin 2026 ». Accepts a date, a datetime or an ISO string;
    anything unreadable is returned as it was written."""
    import datetime as _dt

    if value is None or value != value or value == "":
        return empty
    if isinstance(value, str):
        try:
            value = _dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return value
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {MONTHS[value.month - 1]} {value.year}"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """« 1 partenaire », « 10 partenaires », « 0 partenaire » (French: 0 and 1 take the singular)."""
    word = singular if abs(count) < 2 else (plural_form or singular + "s")
    return f"{fr_number(count)} {word}"
