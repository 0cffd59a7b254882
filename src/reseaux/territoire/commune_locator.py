"""Placing an address at its commune without a geocoder: the commune table of France (town
hall, else an inner point), its former communes and the CEDEX codes, read by code INSEE, by
postcode and name (folded, misspelt, shortened) or by the whole text a person typed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Sequence
from pathlib import Path

import pandas as pd
from rapidfuzz import fuzz, process

from reseaux.territoire.geocoder_client import Match
from reseaux.text import fold

#: The score of a position placed at its commune (below any geocoder's minimal score).
COMMUNE_SCORE = 0.1


class CommuneLocator:
    """Places an address at its commune, from the commune table (town hall, else inner point).

    Two uses, one table: :meth:`locate` for a row of a file (code INSEE, or postcode and
    commune), :meth:`search` for what a person typed when the geocoder cannot answer. The table
    covers France (built by ``make setup``, see :mod:`reseaux.territoire.france`); the former communes
    merged into others and the CEDEX codes are read beside it when present.
    """

    def __init__(
        self, table: pd.DataFrame, former: pd.DataFrame | None = None, cedex: pd.DataFrame | None = None
    ) -> None:
        self.by_code: dict[str, tuple[float, float, str]] = {}
        self.postcodes: dict[str, list[str]] = {}
        self.by_postcode: dict[str, list[str]] = {}
        self.population: dict[str, int] = {}
        #: INSEE code → (département code, département name).
        self.department: dict[str, tuple[str, str]] = {}
        #: folded name (with and without its article) → INSEE codes of the communes so named.
        self.by_name: dict[str, set[str]] = {}
        #: a former commune's code → the current commune holding it.
        self.former_code: dict[str, str] = {}
        #: a current commune's code → its former communes' names, by folded name.
        self._former_names: dict[str, dict[str, str]] = {}
        #: CEDEX code → INSEE codes of the communes it serves.
        self.cedex: dict[str, set[str]] = {}
        #: (code INSEE, folded name) pairs, with and without the article (« petit quevilly »).
        self._names: list[tuple[str, str]] = []
        #: The same names by code.
        self._names_of: dict[str, list[str]] = {}
        for row in table.itertuples(index=False):
            lon = row.mairie_lon if row.mairie_lon == row.mairie_lon and row.mairie_lon != "" else row.point_lon
            lat = row.mairie_lat if row.mairie_lat == row.mairie_lat and row.mairie_lat != "" else row.point_lat
            if lon == "" or lat == "" or lon != lon:
                continue
            self.by_code[row.code_insee] = (float(lat), float(lon), row.nom)
            postcodes = str(row.codes_postaux).replace(";", " ").replace(",", " ").split()
            self.postcodes[row.code_insee] = postcodes
            for postcode in postcodes:
                self.by_postcode.setdefault(postcode, []).append(row.code_insee)
            population = str(getattr(row, "population", "") or "0")
            self.population[row.code_insee] = int(population) if population.isdigit() else 0
            self.department[row.code_insee] = (
                str(getattr(row, "code_dep", "") or _department_of_code(row.code_insee)),
                str(getattr(row, "nom_dep", "") or ""),
            )
            self._add_name(row.code_insee, row.nom, listed=True)
        for row in (former if former is not None else pd.DataFrame()).itertuples(index=False):
            if row.code_insee in self.by_code:
                self.former_code.setdefault(row.code, row.code_insee)
                self._add_name(row.code_insee, row.nom, listed=False)
                self._former_names.setdefault(row.code_insee, {}).setdefault(fold_place(row.nom), row.nom)
        for row in (cedex if cedex is not None else pd.DataFrame()).itertuples(index=False):
            if row.insee in self.by_code or row.insee in self.former_code:
                self.cedex.setdefault(row.cedex, set()).add(self.former_code.get(row.insee, row.insee))
        #: Overseas, the départements each three-digit start of a postcode or CEDEX code serves:
        #: Saint-Barthélemy and Saint-Martin kept Guadeloupe's 971 codes; La Réunion's CEDEX codes
        #: begin 977 and 978, Saint-Barthélemy's and Saint-Martin's INSEE codes.
        self._overseas: dict[str, set[str]] = {}
        for code, served in [*self.by_postcode.items(), *self.cedex.items()]:
            if code.startswith("97"):
                self._overseas.setdefault(code[:3], set()).update(self.department[c][0] for c in served)
        #: The codes of the communes with names, by their first two and first three characters
        #: (a département's prefix): a row's département is searched without a scan of France.
        self._codes_by_start: dict[str, list[str]] = {}
        for code in self._names_of:
            for length in (2, 3):
                self._codes_by_start.setdefault(code[:length], []).append(code)

    def _codes_starting(self, prefixes: tuple[str, ...]) -> list[str]:
        """The communes (with names) whose INSEE code starts with one of ``prefixes``."""
        if all(len(p) in (2, 3) for p in prefixes):
            return [c for p in dict.fromkeys(prefixes) for c in self._codes_by_start.get(p, [])]
        return [c for c in self._names_of if c.startswith(prefixes)]

    def _add_name(self, code: str, name: str, *, listed: bool) -> None:
        folded = fold_place(name)
        bare = _ARTICLE.sub("", folded)
        for variant in {folded, bare}:
            self.by_name.setdefault(variant, set()).add(code)
            if listed:
                self._names.append((code, variant))
                self._names_of.setdefault(code, []).append(variant)

    @classmethod
    def from_csv(cls, path: Path, *, cedex: Path | None = None) -> CommuneLocator:
        """The table at ``path``, with ``anciennes_communes.csv`` beside it and the CEDEX table
        (``cedex_liste_2017.csv`` of the geo folder) when they exist; built once per version of
        the files (about a second for France)."""
        from reseaux import config

        cedex = cedex or config.path("geo_dir") / CEDEX_FILE
        files = (path, path.with_name("anciennes_communes.csv"), cedex)
        return _locator(files, tuple(f.stat().st_mtime_ns if f.exists() else 0 for f in files))

    def locate(self, row: dict[str, str], prefer: Sequence[Collection[str]] = ()) -> tuple[str, Match] | None:
        """Return ``(code_insee, match)`` for the row's commune, or None when unknown or ambiguous
        (:meth:`candidates` then names the communes it could be).

        In order: the code INSEE (a former commune's code leads to the commune that holds it
        now); the commune's name among the communes of the postcode — or of the CEDEX code —
        compared folded (accents, case, hyphens, « St »/« Ste », « CEDEX » and its number ignored),
        former names included; the name alone when it is unique in the postcode's département (a
        CEDEX code, known or not, never leaves its département: its first two digits, three
        overseas, name it) or in France; a name borne by several communes: the one in the first
        set of départements of ``prefer`` holding exactly one of them (the file's département,
        then the network's); the postcode alone (its most populous commune when it serves
        several); last, for a name no commune bears, the whole address read as one text (« 12 rue
        X 86000 Poitiers »), taken only when one commune is clearly ahead, in the postcode's
        département."""
        code, candidates = self._resolve(row, prefer)
        if not code and not candidates:
            code = self._by_text(row)
        if code not in self.by_code:
            return None
        lat, lon, name = self.by_code[code]
        return code, Match(lat, lon, COMMUNE_SCORE, "municipality", name, code)

    def candidates(self, row: dict[str, str], prefer: Sequence[Collection[str]] = ()) -> list[str]:
        """« Castres (Aisne, 02) »… : the communes a name the row cannot choose between could be
        (empty when the row is placed or its name is unknown)."""
        code, candidates = self._resolve(row, prefer)
        if code:
            return []
        name = fold_place(_POSTCODE.sub(" ", row.get("commune", "")))
        said = []
        for c in sorted(candidates, key=lambda c: (self.department[c][0], self.by_code[c][2])):
            where = ", ".join(part for part in (self.department[c][1], self.department[c][0]) if part)
            former = self._former_names.get(c, {})
            former = former.get(name) or former.get(_ARTICLE.sub("", name))
            # A name some commune bore before a merger: say which, or « Massy » reads as a mistake.
            said.append(f"{self.by_code[c][2]} ({where}{f', ancienne commune {former}' if former else ''})")
        return said

    def department_of(self, row: dict[str, str]) -> str:
        """The département a row says it is in, by its code INSEE or its postcode alone ("" when
        they say none): the file's département is the one most of its rows say."""
        code = row.get("code_insee", "").strip()
        code = self.former_code.get(code, code)
        if code in self.department:
            return self.department[code][0]
        postcode = _postcode(row.get("code_postal", "")) or _postcode_in(row.get("commune", ""))
        served = set(self.by_postcode.get(postcode, [])) | self.cedex.get(postcode, set())
        departments = {self.department[c][0] for c in served}
        if len(departments) == 1:
            return departments.pop()
        prefixes = self._prefixes(postcode) if postcode else ()
        return prefixes[0] if len(prefixes) == 1 else ""

    def _prefixes(self, postcode: str) -> tuple[str, ...]:
        """The INSEE-code prefixes of the département(s) a postcode or CEDEX code says."""
        if postcode.startswith("97") and postcode[:3] in self._overseas:
            return tuple(sorted(self._overseas[postcode[:3]]))
        return _department(postcode)

    def _resolve(self, row: dict[str, str], prefer: Sequence[Collection[str]]) -> tuple[str, set[str]]:
        """The row's commune, or "" and the communes its name could be."""
        code = row.get("code_insee", "").strip()
        code = self.former_code.get(code, code)
        if code in self.by_code:
            return code, set()
        commune = row.get("commune", "")
        postcode = _postcode(row.get("code_postal", "")) or _postcode_in(commune)
        return self._by_postcode_and_name(postcode, commune, prefer)

    def _by_text(self, row: dict[str, str]) -> str:
        text = " ".join(row.get(k, "") for k in ("adresse", "code_postal", "commune")).strip()
        match = clear_choice(self.search(text)) if text else None
        if match is None or match.score < 0.8:
            return ""
        postcode = _postcode(row.get("code_postal", "")) or _postcode_in(text)
        # A postcode's département stands: « VIRE » under 14500 is not Viré (Saône-et-Loire).
        if postcode and not match.citycode.startswith(self._prefixes(postcode)):
            return ""
        return match.citycode

    def _misspelt(self, name: str, served: set[str], postcode: str) -> str:
        """A misspelt or variant name (« ST ANDRE DE LA NOCHE », « SAINT MARTIN DE VESUBIE ») among
        the communes of the postcode, else of its département: taken when one is clearly closest."""
        prefixes = self._prefixes(postcode) if postcode else ()
        for pool in (served, set(self._codes_starting(prefixes)) if prefixes else set()):
            scored = sorted(((fuzz.ratio(name, n), c) for c in pool for n in self._names_of.get(c, [])), reverse=True)
            if not scored:
                continue
            best, code = scored[0]
            runner_up = next((r for r, c in scored[1:] if c != code), 0)
            if best >= 88 and best - runner_up >= 3:
                return code
        return ""

    def _by_postcode_and_name(
        self, postcode: str, commune: str, prefer: Sequence[Collection[str]] = ()
    ) -> tuple[str, set[str]]:
        """The commune, or "" and the communes the name could be (several: ambiguous)."""
        served = set(self.by_postcode.get(postcode, [])) | self.cedex.get(postcode, set())
        name = fold_place(_POSTCODE.sub(" ", commune))
        if not name:
            # A postcode alone: the commune it serves, or the most populous of those it serves.
            return (max(sorted(served), key=lambda c: self.population.get(c, 0)) if served else ""), set()
        named = self.by_name.get(name, set()) | self.by_name.get(_ARTICLE.sub("", name), set())
        prefixes = self._prefixes(postcode) if postcode else ()
        # A code that is no postcode (a CEDEX code, known or not) says the département, and only it.
        in_department = {c for c in named if c.startswith(prefixes)} if postcode else named
        # A shortened name among the postcode's communes (« Saint-Remy-en-Bouzemont » for
        # « Saint-Remy-en-Bouzemont-Saint-Genest-et-Isson »), else of its département when the code
        # is a CEDEX (« EVRY » under 91024 is Évry-Courcouronnes).
        shortened = {c for c in served if any(n.startswith(name + " ") for n in self._names_of.get(c, []))}
        if postcode and not shortened and postcode not in self.by_postcode:
            shortened = {
                c for c in self._codes_starting(prefixes) if any(n.startswith(name + " ") for n in self._names_of[c])
            }
        pools = [named & served, in_department, shortened]
        if postcode in self.by_postcode:
            pools.append(named)  # a name unique in France, under a wrong postcode (« 4200 VALDOULE », in 05)
        for pool in pools:
            if len(pool) == 1:
                return next(iter(pool)), set()
        if in_department:
            for departments in prefer:  # the file's département, then the network's
                chosen = {c for c in in_department if self.department[c][0] in departments}
                if len(chosen) == 1:
                    return next(iter(chosen)), set()
            return "", in_department
        if named:
            return "", set()
        # A name no commune bears under a CEDEX code (« 97492 STE CLOTILDE », a district of
        # Saint-Denis; « 73604 MOUTIERS TARENTAISE », Moûtiers' postal name): the one commune the
        # code serves. A CEDEX code belongs to one addressee; a postcode does not vouch for a name.
        misspelt = self._misspelt(name, served, postcode)
        cedex = self.cedex.get(postcode, set()) if postcode not in self.by_postcode else set()
        return misspelt or (next(iter(cedex)) if len(cedex) == 1 else ""), set()

    def search(self, text: str, limit: int = 5, prefer: frozenset[str] = frozenset()) -> list[Match]:
        """The communes ``text`` names, best first: a postcode, a commune name, or an address
        that ends with them (« 12 rue Saint-Julien 76140 Le Petit-Quevilly »).

        Names are compared folded (accents, case, hyphens; « St » read as « Saint », « Cedex »
        ignored), then approximately (typos). A postcode that names no commune (a CEDEX code
        such as 76141) still favours its department. Each :class:`Match` is placed at the town
        hall, labelled « Commune (code postal) », type ``municipality``, with a ``score`` in
        0..1 that only ranks the candidates (see :func:`clear_choice`). Empty when nothing fits.
        The communes of ``prefer`` (the network's territory) come before their namesakes elsewhere.
        """
        postcode_match = _POSTCODE.search(text or "")
        postcode = "".join(postcode_match.groups()) if postcode_match else ""
        words = [w for w in fold_place(_POSTCODE.sub(" ", text or "")).split() if not w.isdigit()]
        typed = " ".join(words)
        scores: dict[str, float] = {}
        if typed:
            self._score_names(typed, scores)
        known_postcode = postcode in self.by_postcode
        for code in self.by_postcode.get(postcode, []):
            scores[code] = scores.get(code, 0.0) + (0.5 if typed and code in scores else 0.6)
        if postcode and not known_postcode:
            for code in scores:
                if code.startswith(postcode[:2]):
                    scores[code] += 0.15
        for code in prefer.intersection(scores):
            scores[code] += 0.2
        ranked = sorted(scores, key=lambda c: (-round(scores[c], 3), -self.population.get(c, 0), c))[:limit]
        top = max(scores.values(), default=1.0)
        return [self._match(code, min(1.0, scores[code] / max(top, 1.0)), postcode) for code in ranked]

    def _score_names(self, typed: str, scores: dict[str, float]) -> None:
        padded = f" {typed} "
        exact: list[tuple[int, int, str]] = []
        for code, name in self._names:
            at = padded.find(f" {name} ")
            if at >= 0:
                exact.append((at, at + len(name) + 1, code))
            elif len(typed) >= 3 and name.startswith(typed):
                scores[code] = max(scores.get(code, 0.0), 0.85)  # « saint aubin » → every Saint-Aubin-…
        for start, end, code in exact:
            if any(s <= start and end <= e and (s, e) != (start, end) for s, e, _ in exact):
                continue  # « rouvray » inside « saint etienne du rouvray »
            # The commune comes last in an address: a name nearer the end wins
            # (« 1 rue de Rouen, Le Petit-Quevilly » is in Le Petit-Quevilly).
            scores[code] = max(scores.get(code, 0.0), 0.9 + 0.1 * end / len(padded))
        if exact:
            return
        # Typos: each run of consecutive words, compared whole with every name.
        words = typed.split()
        windows = {" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, min(i + 6, len(words)) + 1)}
        names = [name for _, name in self._names]
        for window in (w for w in windows if len(w) >= 4):
            for _, ratio, index in process.extract(window, names, scorer=fuzz.ratio, score_cutoff=85, limit=5):
                code = self._names[index][0]
                scores[code] = max(scores.get(code, 0.0), 0.85 * ratio / 100)

    def _match(self, code: str, score: float, postcode: str) -> Match:
        lat, lon, name = self.by_code[code]
        postcodes = self.postcodes.get(code) or [""]
        shown = postcode if postcode in postcodes else postcodes[0]
        return Match(lat, lon, round(score, 3), "municipality", f"{name} ({shown})" if shown else name, code)


@functools.lru_cache(maxsize=4)
def _locator(files: tuple[Path, Path, Path], _versions: tuple[int, ...]) -> CommuneLocator:
    table, former, cedex = (pd.read_csv(f, dtype=str, keep_default_na=False) if f.exists() else None for f in files)
    return CommuneLocator(table, former, cedex)


#: Written forms of « Saint » and the like, read as the full word when comparing names.
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
_ARTICLE = re.compile(r"^(le|la|les|l) ")
_POSTCODE = re.compile(r"(?<!\d)(\d{2}) ?(\d{3})(?!\d)")
_CEDEX = re.compile(r" cedex(?: \d{1,3})?(?= )")
#: How far ahead the best commune must be to be taken without asking.
CLEAR_LEAD = 0.04
#: The CEDEX codes and the communes they serve (not exhaustive; see geo/PROVENANCE.md).
CEDEX_FILE = "cedex_liste_2017.csv"


def _postcode(value: str) -> str:
    """A postcode as written in a file: « 76 000 », « 1400 » (a spreadsheet dropped the zero)."""
    digits = re.sub(r"\D", "", str(value or ""))
    return digits.zfill(5) if len(digits) in (4, 5) else ""


def _department(postcode: str) -> tuple[str, ...]:
    """The INSEE-code prefixes of a postcode's département (« 20 » is Corse: 2A or 2B; 97x overseas,
    see :meth:`CommuneLocator._prefixes`)."""
    if postcode.startswith("20"):
        return ("2A", "2B")
    return (postcode[:3],) if postcode.startswith("97") else (postcode[:2],)


def _department_of_code(code: str) -> str:
    """The département of an INSEE code (three characters overseas)."""
    return code[:3] if code.startswith("97") else code[:2]


def _postcode_in(text: str) -> str:
    """A postcode written in a commune's cell (« 14504 VIRE CEDEX »), "" when none."""
    found = _POSTCODE.search(text or "")
    return "".join(found.groups()) if found else ""


def fold_place(value: str) -> str:
    """A place name folded for comparison: « St-Étienne-du-Rouvray CEDEX » → « saint etienne du rouvray ».
    The one folding of text (``text.fold``), then two rules of place names on top: « St », « Ste »…
    written out, the word CEDEX and its number (« NICE CEDEX 1 », « CEDEX 09 ») dropped."""
    return " ".join(_ABBREVIATIONS.get(w, w) for w in _CEDEX.sub(" ", f" {fold(value)} ").split())


def clear_choice(matches: list[Match]) -> Match | None:
    """The first of ``matches`` when it is clearly ahead of the others, else None (ask)."""
    if not matches:
        return None
    if len(matches) == 1 or matches[0].score - matches[1].score >= CLEAR_LEAD:
        return matches[0]
    return None


def unmapped_overseas(row: dict[str, str]) -> bool:
    """Whether the row's code INSEE or postcode is of a collectivity the national data cannot place
    (98x: Terres australes, Wallis-et-Futuna, Polynésie française, Nouvelle-Calédonie, Clipperton)."""
    code = row.get("code_insee", "").strip()
    postcode = _postcode(row.get("code_postal", "")) or _postcode_in(row.get("commune", ""))
    return code.startswith("98") or postcode.startswith("98")
