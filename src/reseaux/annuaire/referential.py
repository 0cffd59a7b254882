"""The referential: themes, professions, types, publics, modalities and accessibility.

One CSV file (``data/referentiel.csv``) declares each entry once with its code, French label,
colour, optional icon and aliases. Validation, filters and legends all read it from here.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz, process

from reseaux.annuaire import columns
from reseaux.annuaire.exports import write_atomic
from reseaux.markup import is_color
from reseaux.text import fold

#: The categories of the referential. The directory column each one validates is said by the
#: column registry (:mod:`reseaux.annuaire.columns`, a column's ``category``).
CATEGORIES = ("type", "thematique", "profession", "public", "modalite", "accessibilite")
#: « … inconnu(e) » with the right agreement, for error messages.
UNKNOWN: dict[str, str] = {
    "type": "type d'acteur inconnu",
    "thematique": "thématique inconnue",
    "profession": "profession inconnue",
    "public": "public inconnu",
    "modalite": "modalité inconnue",
    "accessibilite": "accessibilité inconnue",
}
#: The type an actor gets when its type is missing or unknown (an entry of the referential).
UNCLASSIFIED = "a_classer"
#: Similarity (0–100, rapidfuzz ``ratio``) above which a misspelling is suggested: strict on
#: purpose, a wrong suggestion misleads more than none.
SPELLING_CUTOFF = 85
#: Shortest synonym looked for inside a longer value (two letters, « sf », match by chance).
_MIN_HELD = 3


@dataclass(frozen=True)
class Entry:
    category: str
    code: str
    label: str
    color: str
    aliases: tuple[str, ...] = ()


@dataclass
class Referential:
    """Entries by category, with a lookup that ignores case, accents and spacing."""

    entries: dict[str, list[Entry]]
    _index: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    _by_code: dict[tuple[str, str], Entry] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_code = {(e.category, e.code): e for items in self.entries.values() for e in items}
        for category, items in self.entries.items():
            index: dict[str, str] = {}
            for entry in items:
                for key in (entry.code, entry.label, *entry.aliases):
                    index.setdefault(fold(key), entry.code)
            self._index[category] = index

    def codes(self, category: str) -> list[str]:
        return [e.code for e in self.entries.get(category, [])]

    def entry(self, category: str, code: str) -> Entry:
        try:
            return self._by_code[(category, code)]
        except KeyError:
            raise KeyError(f"{category}:{code}") from None

    def label(self, category: str, code: str) -> str:
        try:
            return self.entry(category, code).label
        except KeyError:
            return code

    def color(self, category: str, code: str, default: str = "#555555") -> str:
        try:
            return self.entry(category, code).color
        except KeyError:
            return default

    def labels(self, category: str) -> dict[str, str]:
        """Return ``{code: label}`` for ``category``, in file order."""
        return {e.code: e.label for e in self.entries.get(category, [])}

    def resolve(self, category: str, value: str) -> str | None:
        """Return the code that ``value`` names (a code, label or alias), or None."""
        return self._index.get(category, {}).get(fold(value))

    def suggest(self, category: str, value: str) -> str | None:
        """Return the label ``value`` most likely means, for a warning, or None.

        Curated words first: the longest code, label or synonym that ``value`` holds as whole
        words (« Cabinet accessible fauteuil » → « Accessible PMR »). Then spelling only, above
        a strict similarity, so that a short unknown word never lands on an unrelated entry
        (PrEP must not become « Précarité menstruelle »).
        """
        target = fold(value)
        index = self._index.get(category, {})
        if not target or not index:
            return None
        padded = f" {target} "
        held = [key for key in index if len(key) >= _MIN_HELD and f" {key} " in padded]
        if held:
            return self.label(category, index[max(held, key=len)])
        best = process.extractOne(target, list(index), scorer=fuzz.ratio, score_cutoff=SPELLING_CUTOFF)
        return self.label(category, index[best[0]]) if best else None


def load_referential(path: Path) -> Referential:
    """Read the referential CSV at ``path``.

    Raises ``ValueError`` (in French) listing every malformed line at once.
    """
    entries: dict[str, list[Entry]] = {c: [] for c in CATEGORIES}
    problems: list[str] = []
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            category = (row.get("categorie") or "").strip()
            code = (row.get("code") or "").strip()
            if category not in CATEGORIES:
                problems.append(f"ligne {line} : catégorie « {category} » inconnue (attendu : {', '.join(CATEGORIES)})")
                continue
            if not code or not (row.get("libelle") or "").strip():
                problems.append(f"ligne {line} : code et libellé sont obligatoires")
                continue
            if code in {e.code for e in entries[category]}:
                problems.append(f"ligne {line} : code « {code} » déjà déclaré pour « {category} »")
                continue
            color = (row.get("couleur") or "#555555").strip()
            if not is_color(color):  # written into style attributes: a colour, nothing else
                problems.append(f"ligne {line} : couleur « {color} » invalide (écrivez-la #RRGGBB)")
                continue
            aliases = tuple(a.strip() for a in (row.get("alias") or "").split("|") if a.strip())
            entries[category].append(
                Entry(
                    category=category,
                    code=code,
                    label=row["libelle"].strip(),
                    color=color,
                    aliases=aliases,
                )
            )
    if problems:
        raise ValueError(f"Référentiel {path} invalide :\n" + "\n".join(problems))
    return Referential(entries)


def add_synonym(path: Path, category: str, code: str, value: str) -> None:
    """Remember ``value`` as a synonym of ``category:code`` in the referential CSV at ``path``.

    Every later load reads it (a coordinator's recoding, made once for every file). The file is
    rewritten atomically, other lines unchanged. Raises ``KeyError`` for an unknown entry and
    ``ValueError`` (in French) when ``value`` already names another entry of the category.
    """
    value = " ".join(str(value).split())
    current = load_referential(path)
    current.entry(category, code)
    named = current.resolve(category, value)
    if named == code:
        return
    if named is not None or not value:
        raise ValueError(f"« {value} » désigne déjà « {current.label(category, named or '')} »")
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    at = {name: i for i, name in enumerate(header)}
    for row in rows[1:]:
        if len(row) > at["code"] and row[at["categorie"]].strip() == category and row[at["code"]].strip() == code:
            row.extend([""] * (len(header) - len(row)))
            aliases = [a for a in row[at["alias"]].split("|") if a.strip()]
            row[at["alias"]] = "|".join([*aliases, value.replace("|", " ")])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    write_atomic(Path(path), out.getvalue().encode("utf-8"))


def unrecognised_values(issues, referential: Referential) -> list[tuple[str, str, str, int]]:
    """``(column, category, value, count)`` of every value the referential did not know.

    ``issues`` are a directory's :class:`~reseaux.annuaire.directory.Issue`; the most frequent first.
    """
    categories = {c.name: c.category for c in columns.of_kind(columns.REFERENTIAL)}
    counts: dict[tuple[str, str, str], int] = {}
    for issue in issues:
        category = categories.get(issue.column or "")
        if category and issue.value and referential.resolve(category, issue.value) is None:
            key = (issue.column, category, issue.value)
            counts[key] = counts.get(key, 0) + 1
    return [(*key, n) for key, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
