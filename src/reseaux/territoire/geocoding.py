"""Geocoding the rows of a directory file: which rows to place, and in which order of sources.

Three ways to a position, tried in order for every address:

1. the persistent cache (:class:`~reseaux.territoire.geocode_cache.GeoCache`), keyed by the normalised
   address — a second run of the same file makes no request, « not found » answers included;
2. the geocoder (:class:`~reseaux.territoire.geocoder_client.Geocoder`): ``/search/csv`` for batches;
3. the commune (:class:`~reseaux.territoire.commune_locator.CommuneLocator`) when the geocoder cannot be
   reached or finds nothing good enough: the address is placed at its commune, source
   ``commune``, with a low score.

A position whose source is ``manuel`` (moved by hand), or a position typed in the file with no
source, is never overwritten. Each row's outcome is counted in a :class:`Summary`, with a French
message for every address not placed precisely.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from reseaux.territoire.commune_locator import CommuneLocator, unmapped_overseas
from reseaux.territoire.geocode_cache import GeoCache, address_key
from reseaux.territoire.geocoder_client import Geocoder, GeocoderUnavailable, Match
from reseaux.text import fr_number

DEFAULT_MIN_SCORE = 0.5
BATCH_SIZE = 500


@dataclass
class Summary:
    """How each row ended; one row falls in exactly one of the first five counters."""

    geocoded: int = 0
    from_cache: int = 0
    commune: int = 0
    below_min_score: int = 0
    not_found: int = 0
    skipped_manual: int = 0
    requests: int = 0
    #: No geocoder answered: asked for (``error`` empty) or given up (``error`` says why).
    offline: bool = False
    #: Why the geocoder was given up, when it was.
    error: str = ""
    #: (spreadsheet line, French message) for every address not placed precisely.
    problems: list[tuple[int, str]] = field(default_factory=list)

    def sentence(self) -> str:
        from reseaux.text import plural

        text = (
            f"{plural(self.geocoded, 'adresse géocodée', 'adresses géocodées')}, {self.from_cache} depuis le cache, "
            f"{plural(self.commune, 'placée', 'placées')} à leur commune, "
            f"{self.below_min_score} sous le score minimal, {plural(self.not_found, 'introuvable')}"
        )
        if self.skipped_manual:
            kept = plural(
                self.skipped_manual, "position saisie à la main conservée", "positions saisies à la main conservées"
            )
            text += f" ; {kept}"
        if self.offline and self.error:
            text += f" — géocodeur injoignable ({self.error}) : positions approximatives à la commune"
        elif self.offline:
            text += " — hors ligne, comme demandé : positions approximatives à la mairie de la commune"
        return text + "."


def needs_geocoding(row: dict[str, str], force: bool) -> bool:
    """Rows without a position, or placed at their commune, or all with ``force`` — never a
    position placed by hand, nor one given by the file's publisher."""
    source = row.get("geocodage_source", "").strip()
    has_position = bool(row.get("latitude", "").strip() and row.get("longitude", "").strip())
    if source in ("manuel", "fichier") or (has_position and not source):
        return False
    if (
        not row.get("adresse", "").strip()
        and not row.get("commune", "").strip()
        and not row.get("code_insee", "").strip()
    ):
        return False
    return force or not has_position or source == "commune"


def geocode_rows(
    rows: list[dict[str, str]],
    *,
    geocoder: Geocoder | None,
    cache: GeoCache,
    communes: CommuneLocator,
    min_score: float = DEFAULT_MIN_SCORE,
    force: bool = False,
    first_line: int = 2,
    progress: Callable[[int, int], None] | None = None,
    territory: Collection[str] = (),
) -> Summary:
    """Geocode ``rows`` in place (string cells, as read from the file) and return the summary.

    ``geocoder=None`` means offline: only the cache and the commune fallback are used.
    ``first_line`` is the spreadsheet line of ``rows[0]``, for the problems reported.
    A commune name several communes bear is taken in the département most of the file's rows
    are in, else in the network's ``territory`` (its départements' codes).
    """
    summary = Summary(offline=geocoder is None)
    prefer = [departments for departments in (file_departments(rows, communes), set(territory)) if departments]
    todo = [i for i, row in enumerate(rows) if needs_geocoding(row, force)]
    summary.skipped_manual = sum(
        1
        for r in rows
        if r.get("geocodage_source") == "manuel"
        or (r.get("latitude") and r.get("longitude") and not r.get("geocodage_source"))
    )
    answers: dict[str, Match | None] = {}
    cached: set[str] = set()
    for i in todo:
        key = address_key(rows[i])
        hit = cache.get(key)
        if hit is not GeoCache.MISSING:
            answers[key] = hit
            cached.add(key)
    pending = list(dict.fromkeys(address_key(rows[i]) for i in todo if address_key(rows[i]) not in answers))
    sample = {address_key(rows[i]): rows[i] for i in todo}
    done = len(todo) - sum(1 for i in todo if address_key(rows[i]) in pending)
    if progress:
        progress(done, len(todo))
    for start in range(0, len(pending), BATCH_SIZE):
        if geocoder is None:
            break
        chunk = pending[start : start + BATCH_SIZE]
        try:
            matches = geocoder.search_csv([sample[k] for k in chunk])
        except GeocoderUnavailable as exc:
            summary.offline = True
            summary.error = str(exc)
            geocoder = None
            break
        cache.put_many(zip(chunk, matches, strict=True))
        answers.update(zip(chunk, matches, strict=True))
        done += sum(1 for i in todo if address_key(rows[i]) in set(chunk))
        if progress:
            progress(done, len(todo))
    if geocoder is not None:
        summary.requests = geocoder.requests
    for i in todo:
        _apply(rows[i], i + first_line, address_key(rows[i]), answers, cached, communes, min_score, summary, prefer)
    if progress:
        progress(len(todo), len(todo))
    return summary


def file_departments(rows: list[dict[str, str]], communes: CommuneLocator) -> set[str]:
    """The département most of ``rows`` say they are in (by code INSEE or postcode), as a set;
    empty when no row says one, or when two départements are equally frequent."""
    counts = Counter(d for d in (communes.department_of(r) for r in rows) if d).most_common(2)
    if not counts or (len(counts) == 2 and counts[0][1] == counts[1][1]):
        return set()
    return {counts[0][0]}


def _apply(row, line, key, answers, cached, communes, min_score, summary, prefer=()) -> None:
    match = answers.get(key)
    known = key in answers
    if match is not None and match.score >= min_score:
        _set(row, match, "cache" if key in cached else "ban")
        if match.citycode:
            row["code_insee"] = match.citycode
        if key in cached:
            summary.from_cache += 1
        else:
            summary.geocoded += 1
        return
    fallback = communes.locate(row, prefer)
    if fallback is not None:
        _set(row, fallback[1], "commune")
        row["code_insee"] = row.get("code_insee") or fallback[0]
    candidates = [] if fallback else communes.candidates(row, prefer)
    if candidates:
        placed = (
            f" ; commune « {row.get('commune', '').strip()} » ambiguë, {len(candidates)} communes portent ce nom : "
            f"{', '.join(candidates)} — ajoutez le code postal ou le code INSEE : acteur absent de la carte"
        )
    else:
        placed = " ; placée à sa commune" if fallback else " ; commune inconnue, acteur absent de la carte"
    if match is not None:
        summary.below_min_score += 1
        summary.problems.append(
            (
                line,
                f"score {fr_number(match.score, 2)} < {fr_number(min_score, 2)} pour « {match.label} » : "
                f"vérifiez l'adresse{placed}",
            )
        )
    elif known:
        summary.not_found += 1
        summary.problems.append((line, f"adresse introuvable{placed}"))
    else:
        summary.commune += 1 if fallback else 0
        summary.not_found += 0 if fallback else 1
        if not fallback:
            why = "géocodeur injoignable" if summary.error else "hors ligne"
            if candidates:
                summary.problems.append((line, f"{why}{placed.replace(' ; ', ' et ', 1)}"))
            elif unmapped_overseas(row):
                summary.problems.append(
                    (
                        line,
                        f"{why} : commune du Pacifique ou des Terres australes, dont le "
                        "référentiel hors ligne n'a pas la position (ni contour ni mairie dans "
                        "ses sources) ; géocodez en ligne ou saisissez latitude et longitude : "
                        "acteur absent de la carte",
                    )
                )
            else:
                summary.problems.append(
                    (
                        line,
                        f"{why} et commune introuvable (vérifiez le code postal et la commune, "
                        "ou ajoutez le code INSEE) : acteur absent de la carte",
                    )
                )


def _set(row: dict[str, str], match: Match, source: str) -> None:
    row["latitude"] = f"{match.latitude:.6f}"
    row["longitude"] = f"{match.longitude:.6f}"
    row["geocodage_score"] = f"{match.score:.2f}"
    row["geocodage_type"] = match.type
    row["geocodage_label"] = match.label
    row["geocodage_source"] = source
