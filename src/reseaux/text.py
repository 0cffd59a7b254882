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


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


def md_escape(value: str) -> str:
    """Escape ``value`` for Streamlit markdown: a fiche's text shows as typed, never as markup."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(value or "")).replace("\n", " ")
