"""Réseaux: map a health network's partners on the perimeters of public action."""

__version__ = "0.1.0"
