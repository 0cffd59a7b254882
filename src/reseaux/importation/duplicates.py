"""Likely duplicates between an imported file and the directory, found within a bounded work.

Comparing every imported name with every fiche costs rows × fiches: 20 CPU s for 200,000 rows
against 185 fiches, hours against 200,000. A duplicate is a close name *at a close place*, so
names are compared only within blocks: fiches of the same commune (or postcode) that share the
start of a name word (« dup » for « DUPONT Marie » and « Marie Dupont »). Rows whose folded
names are the same words are compared wherever they are. The comparisons are counted and stop
at :data:`MAX_COMPARISONS`; the rows left unexamined are counted and said.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from reseaux.text import fold

#: Name comparisons a search makes at most (rapidfuzz's token-set ratio: some 0.35 µs each).
MAX_COMPARISONS = 20_000_000
#: Cells of one comparison matrix (float32): a block is compared in slices of rows under this.
_SLICE_CELLS = 2_000_000
#: Name words too common to make a block (the other words of the name still do).
_COMMON_WORDS = frozenset({"des", "les", "aux", "sur", "pour", "dans", "avec"})
_COMMUNE_WORDS = {"st": "saint", "ste": "sainte", "cedex": ""}
_POSTCODE = re.compile(r"^\d{5}$")
PLACE_SCORE = 80


@dataclass(frozen=True)
class Duplicate:
    new_index: int
    existing_id: str
    score: float
    reason: str


class Duplicates(list):
    """The :class:`Duplicate` found, by imported row; ``unchecked``: rows with a name and a place
    not compared with every fiche of their block because the search reached its bound."""

    unchecked: int = 0


@dataclass
class _Rows:
    """A table's rows folded for comparison."""

    ids: list[str]
    names: list[str]
    places: list[str]  # address and commune: what the place score compares
    addresses: list[str]
    communes: list[str]
    postcodes: list[str]

    @classmethod
    def of(cls, table: pd.DataFrame) -> _Rows:
        def column(name):
            return table[name].fillna("").astype(str).tolist() if name in table else [""] * len(table)

        addresses, communes = column("adresse"), column("commune")
        folded = {c: fold(c) for c in set(communes)}  # a few hundred communes for 200,000 rows
        return cls(
            ids=column("id"),
            names=[fold(n) for n in column("nom")],
            places=[f"{fold(a)} {folded[c]}".strip() for a, c in zip(addresses, communes, strict=True)],
            addresses=addresses,
            communes=[folded[c] for c in communes],
            postcodes=[re.sub(r"\s+", "", p) for p in column("code_postal")],
        )

    def place_keys(self, i: int) -> list[str]:
        keys = []
        commune = " ".join(
            w for w in (_COMMUNE_WORDS.get(w, w) for w in self.communes[i].split()) if w and not _POSTCODE.match(w)
        )  # « Rouen 76000 », « ROUEN CEDEX » are Rouen
        if commune:
            keys.append(commune)
        if self.postcodes[i]:
            keys.append(f"cp {self.postcodes[i]}")
        return keys

    def name_keys(self, i: int) -> set[str]:
        words = self.names[i].split()
        useful = [w for w in words if len(w) >= 3 and w not in _COMMON_WORDS] or words
        return {w[:3] for w in useful}


def find_duplicates(
    new: pd.DataFrame,
    existing: pd.DataFrame,
    *,
    threshold: float = 88.0,
    progress: Callable[[int, int], None] | None = None,
) -> Duplicates:
    """Likely duplicates of existing fiches: the same id, or a close name at a close address.

    Names and addresses are compared folded (accents, case), with rapidfuzz's token-set ratio
    so « Dr Marie Dupont » matches « DUPONT Marie ». ``progress(comparisons done, planned)`` is
    called as blocks are compared. Returns :class:`Duplicates`, by imported row.
    """
    old, incoming = _Rows.of(existing), _Rows.of(new)
    by_id = {identifier: position for position, identifier in enumerate(old.ids)}
    found: dict[int, Duplicate] = {}
    for index, identifier in enumerate(incoming.ids):
        if identifier in by_id:
            found[index] = Duplicate(index, identifier, 100.0, "même identifiant")
    rows = [i for i in range(len(incoming.ids)) if i not in found and incoming.names[i]]
    scores: dict[int, dict[int, float]] = defaultdict(dict)  # imported row → {fiche: name score}
    _same_words(incoming, old, rows, scores)
    unchecked = _compare_blocks(incoming, old, rows, threshold, scores, progress)
    for index in rows:
        best = sorted(scores.get(index, {}).items(), key=lambda item: (-item[1], item[0]))[:5]
        for position, name_score in best:
            duplicate = _at_close_place(incoming, old, index, position, name_score)
            if duplicate:
                found[index] = duplicate
                break
    result = Duplicates(found[i] for i in sorted(found))
    result.unchecked = len(unchecked - set(found))
    return result


def _same_words(incoming: _Rows, old: _Rows, rows: list[int], scores: dict[int, dict[int, float]]) -> None:
    """Fiches whose folded name has the same words, wherever they are (a score of 100)."""
    by_words: dict[str, list[int]] = defaultdict(list)
    for position, name in enumerate(old.names):
        if name:
            by_words[" ".join(sorted(name.split()))].append(position)
    for index in rows:
        for position in by_words.get(" ".join(sorted(incoming.names[index].split())), [])[:5]:
            scores[index][position] = 100.0


def _blocks(incoming: _Rows, old: _Rows, rows: list[int]) -> list[tuple[list[int], list[int]]]:
    """(imported rows, fiches) sharing a place and the start of a name word, cheapest first."""
    new_by: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index in rows:
        for place in incoming.place_keys(index):
            for word in incoming.name_keys(index):
                new_by[place, word].append(index)
    old_by: dict[tuple[str, str], list[int]] = defaultdict(list)
    for position, name in enumerate(old.names):
        if not name:
            continue
        for place in old.place_keys(position):
            for word in old.name_keys(position):
                if (place, word) in new_by:
                    old_by[place, word].append(position)
    pairs = [(new_by[key], old_by[key]) for key in new_by if key in old_by]
    return sorted(pairs, key=lambda pair: len(pair[0]) * len(pair[1]))


def _compare_blocks(
    incoming: _Rows, old: _Rows, rows: list[int], threshold: float, scores: dict[int, dict[int, float]], progress
) -> set[int]:
    """Name scores of each block, within :data:`MAX_COMPARISONS`; the rows of the blocks left."""
    blocks = _blocks(incoming, old, rows)
    planned = sum(len(n) * len(o) for n, o in blocks)
    done, told, unchecked = 0, 0, set()
    for number, (indexes, positions) in enumerate(blocks):
        if done + len(indexes) * len(positions) > MAX_COMPARISONS:  # the others cost more still
            unchecked.update(i for block in blocks[number:] for i in block[0])
            break
        choices = [old.names[p] for p in positions]
        step = max(1, _SLICE_CELLS // len(positions))
        for start in range(0, len(indexes), step):
            part = indexes[start : start + step]
            matrix = process.cdist(
                [incoming.names[i] for i in part], choices, scorer=fuzz.token_set_ratio, score_cutoff=threshold
            )
            for row, column in zip(*np.nonzero(matrix), strict=True):
                scores[part[row]][positions[column]] = float(matrix[row, column])
        done += len(indexes) * len(positions)
        if progress and (done - told) * 50 >= planned:
            progress(done, planned)
            told = done
    if progress:
        progress(planned, planned)
    return unchecked


def _at_close_place(incoming: _Rows, old: _Rows, index: int, position: int, name_score: float) -> Duplicate | None:
    place, other = incoming.places[index], old.places[position]
    place_score = fuzz.token_set_ratio(place, other) if place.strip() and other.strip() else 0
    if place_score >= PLACE_SCORE or (not incoming.addresses[index].strip() and incoming.communes[index] in other):
        return Duplicate(
            index,
            old.ids[position],
            round((name_score + place_score) / 2, 1),
            f"nom proche ({name_score:.0f} %) et adresse proche ({place_score:.0f} %)",
        )
    return None
