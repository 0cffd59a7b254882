"""Text helpers shared by validation, filters and search: one folding of text for all (``fold``)."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

#: What the folding writes for a letter that no decomposition takes apart, and for the
#: apostrophes Unicode counts as letters (ʼ ʻ): « Sœurs » is found as « soeurs », « d’IVG » as
#: « d'IVG ». The same map as ``rxFold``'s in ``fiches.js`` (tests/test_folding.py compares them).
_LETTERS = {
    "œ": "oe",
    "æ": "ae",
    "ß": "ss",
    "ø": "o",
    "ł": "l",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    "ı": "i",
    "ʼ": " ",
    "ʻ": " ",
}


class _FoldTable(dict):
    """``str.translate``'s table: accents and other marks that NFKD has put apart (Unicode
    category Mn, as ``\\p{Mn}`` in the browser) go, the letters above are written out, anything
    else stays. Filled as characters are met: scanning the 1.1 million code points up front cost
    0.1 s at every import (the app, the command line, each test worker)."""

    def __init__(self) -> None:
        super().__init__((ord(k), v) for k, v in _LETTERS.items())

    def __missing__(self, code: int) -> int | None:
        folded = None if unicodedata.category(chr(code)) == "Mn" else code
        self[code] = folded
        return folded


_FOLD_TABLE = _FoldTable()
_ACCENTS = re.compile("[\u0300-\u036f]+")  # the marks of Latin letters: a quicker first pass
#: Anything but a letter or a digit (of any script) separates words: spaces of every kind,
#: punctuation, apostrophes, hyphens and dashes, slashes, underscores, the middle dot.
_NOT_LETTER = re.compile(r"[\W_]+")
#: Text :func:`fold_column` folds with Arrow: Basic Latin to Latin Extended-B, Latin Extended
#: Additional, General Punctuation (no-break and thin spaces, ’, dashes, the middle dot is Latin-1).
_LATIN = "^[\x00-\u024f\u1e00-\u1eff\u2000-\u206f]*$"


def fold(value: object) -> str:
    """``value`` folded for comparison: the one folding of text for search, filters, the
    referential, import headers and place names, and the map's search box (``rxFold`` in
    ``fiches.js`` applies the same rules; tests/data/folding_cases.json holds the cases both
    are tested on).

    Lower case; Unicode NFKD without its marks (« É » → « e », « ﬁ » → « fi », « ² » → « 2 »);
    « œ », « æ », « ß » written « oe », « ae », « ss »; every run of what is neither a letter nor
    a digit (apostrophes ’ and ', hyphens and dashes, slashes, underscores, no-break spaces…)
    made one space; no space at either end. So « Sage-Femme », « sage femme » and « SAGE  FEMME »
    all give ``"sage femme"``, « d’IVG » and « d'IVG » give ``"d ivg"``, « IST/VIH » gives
    ``"ist vih"`` and « infirmier·ère » gives ``"infirmier ere"``. None gives ``""``. Letters of
    other scripts are kept as they are (lower case), never transliterated: the browser could not
    do the same.
    """
    text = unicodedata.normalize("NFKD", "" if value is None else str(value).lower())
    if not text.isascii():  # most French text is ASCII once its accents are put apart: 30 % faster
        text = _ACCENTS.sub("", text)
        if not text.isascii():
            text = text.translate(_FOLD_TABLE)
    return _NOT_LETTER.sub(" ", text).strip()


def fold_column(values: pd.Series) -> pd.Series:
    """:func:`fold` of each value of a column of text (a missing one ``""``), as Arrow strings
    (``str``), with the same index.

    At a million fiches, :func:`fold` called on every distinct value of a directory (names,
    addresses, phones: nearly all distinct) was 20 s. Here Arrow does the work for every value
    that ends in ASCII once lowered, decomposed (NFKD) and stripped of its marks — French text,
    accents and all — and :func:`fold` itself the few others (« Sœurs », other scripts), each
    distinct value once. For those that Arrow folds, its steps are fold's: lower case, NFKD, marks
    (``\\p{Mn}``) out, every run of what is not an ASCII letter or digit one space, no space at
    the ends (tests/test_folding.py compares the two over every code point of Unicode)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arrow = arrow_text(values, whole=True)
    if arrow is None:
        arrow = pa.array(values.fillna("").astype(str).tolist(), type=pa.large_string())
    sample = arrow.slice(0, 10_000)
    if len(arrow) > 2 * len(sample) and pc.count_distinct(sample).as_py() < len(sample) // 2:
        # Few distinct values (types, professions, communes…): each folded once, then spread.
        encoded = arrow.dictionary_encode()
        return text_series(_fold_arrow(encoded.dictionary).take(encoded.indices), values.index)
    return text_series(_fold_arrow(arrow), values.index)


def arrow_text(values: pd.Series, *, whole: bool = False):
    """A column of Arrow text (``str``) as Arrow large strings, a missing value ``""``, as it is
    held (no Python string per cell); one array when ``whole``, else maybe in chunks. None when
    the column is not Arrow text (the caller says how its values are read as text)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    held = held_text(values.array)
    if held is None:
        return None
    held = pc.fill_null(held.cast(pa.large_string()), "")
    return held.combine_chunks() if whole and isinstance(held, pa.ChunkedArray) else held


def held_text(array):
    """The Arrow text an array of a column holds (``Series.array``), as it is held: not cast, not
    copied, its missing values kept. None when it holds no Arrow text."""
    import pyarrow as pa

    arrow = getattr(array, "__arrow_array__", None)
    if arrow is None:
        return None
    held = arrow()
    return held if pa.types.is_string(held.type) or pa.types.is_large_string(held.type) else None


def text_series(arrow, index: pd.Index) -> pd.Series:
    """An Arrow array of strings as a column of text (``str``) on ``index``, without copying it
    into Python strings: the way back of :func:`arrow_text`."""
    import pyarrow as pa

    return pd.Series(pd.arrays.ArrowStringArray(arrow.cast(pa.large_string())), index=index, dtype="str")


def one_empty(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its columns of text empty in every row (``""``, none missing) holding one
    array of empty strings between them, not one each: each cell of Arrow text takes its 8 bytes
    of offset even when empty, and a directory leaves whole columns empty (15 of the 30 of the
    synthetic million, 0.11 GB of the table's 0.39 in the Annuaire page). Each column keeps its own
    pandas array around the shared Arrow buffers, which never change: a cell written in one copies
    that column alone (``tests/test_storage_contract.py``). The other columns are the table's own."""
    import pyarrow as pa
    import pyarrow.compute as pc

    empty, columns = None, {}
    for name, column in table.items():
        held = held_text(column.array) if len(column) else None
        if held is None or held.null_count or pc.max(pc.binary_length(held)).as_py():
            continue
        if empty is None:
            offsets = pa.py_buffer(np.zeros(len(table) + 1, dtype=np.int64))
            empty = pa.LargeStringArray.from_buffers(len(table), offsets, pa.py_buffer(b""))
        columns[name] = pd.Series(
            pd.arrays.ArrowStringArray(pa.chunked_array([empty])), index=table.index, dtype=column.dtype
        )
    if not columns:
        return table
    table = table.copy(deep=False)
    for name, column in columns.items():
        table[name] = column
    return table


def _fold_arrow(arrow):
    """:func:`fold` of each value of an Arrow array of strings, by Arrow where its steps are
    fold's (see :func:`fold_column`), by :func:`fold` itself for the others."""
    import pyarrow as pa
    import pyarrow.compute as pc

    bare = pc.replace_substring_regex(
        pc.utf8_normalize(pc.utf8_lower(arrow), form="NFKD"), pattern=r"\p{Mn}+", replacement=""
    )
    # Latin letters and punctuation alone: characters both Unicode databases have had for long.
    # Python's (Unicode 14 in 3.11) does not know letters Arrow's does (U+209D, ꟱…), which Arrow
    # decomposes to ASCII and Python reads as separators.
    plain = pc.and_(pc.string_is_ascii(bare), pc.match_substring_regex(arrow, pattern=_LATIN))
    folded = pc.utf8_trim(pc.replace_substring_regex(bare, pattern="[^A-Za-z0-9]+", replacement=" "), characters=" ")
    other = np.flatnonzero(~plain.to_numpy(zero_copy_only=False).astype(bool))
    if not len(other):
        return folded
    values = folded.to_numpy(zero_copy_only=False)  # text of a few values elsewhere: Python strings here
    originals = arrow.take(pa.array(other)).to_pylist()
    done = {value: fold(value) for value in set(originals)}
    values[other] = [done[value] for value in originals]
    return pa.array(values, type=pa.large_string())


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
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


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


def fr_coordinates(lat: float, lon: float) -> str:
    """A point for people: « 49,44123 ; 1,09876 » (latitude ; longitude, to about a metre)."""
    return f"{fr_number(lat, 5)} ; {fr_number(lon, 5)}"


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


def fr_moment(value, *, seconds: bool = False) -> str:
    """A moment as people read it: « 11 juin 2026 à 14 h 05 » (« à 14 h 05 min 07 s » with
    ``seconds``). Accepts a datetime or an ISO string; anything unreadable is returned as written."""
    import datetime as _dt

    if isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return value
    moment = f"{fr_date(value)} à {value.hour} h {value.minute:02d}"
    return f"{moment} min {value.second:02d} s" if seconds else moment


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """« 1 partenaire », « 10 partenaires », « 0 partenaire » (French: 0 and 1 take the singular)."""
    word = singular if abs(count) < 2 else (plural_form or singular + "s")
    return f"{fr_number(count)} {word}"
