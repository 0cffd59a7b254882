"""The column a network would add to the directory, for tests/test_column_registry.py: one
entry of the registry, shown everywhere, after « Horaires ». The served app of the browser test
adds it at start-up by importing :func:`add` (a ``sitecustomize`` module on its path)."""

from reseaux.annuaire import columns
from reseaux.annuaire.columns import PLACES, Column

PARKING = Column(
    "stationnement",
    "Stationnement",
    "stationnement près du lieu, texte libre",
    shown=frozenset(PLACES),
    rank=16.5,
    headers=("parking",),
)


def add() -> None:
    """Register :data:`PARKING` (once)."""
    if columns.column(PARKING.name) is None:
        columns.REGISTRY = (*columns.REGISTRY, PARKING)
