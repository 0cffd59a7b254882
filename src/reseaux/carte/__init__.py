"""carte: every map of the app, live or exported, rendered once (:mod:`reseaux.carte.verbatim`)."""

from reseaux.carte import verbatim

verbatim.install()
