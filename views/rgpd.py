"""Données personnelles: what the map holds, why, whom to contact; erasure for coordinators."""

import streamlit as st

from reseaux import config, ui
from reseaux.acces.access import can
from reseaux.ui import auth, privacy_panel

role, name = auth.current()
st.title("Données personnelles")
st.markdown(f"""
**Ce que contient la carte.** Pour les professionnel·les membres du réseau : nom, profession, spécialités
et formations, structure d'exercice, adresse professionnelle, téléphone, courriel et site professionnels,
modalités d'accueil. Pour les structures, actions d'aller-vers et points de distribution : leurs
coordonnées publiques. Aucune donnée sur les personnes accueillies ou les patient·es.

**Pourquoi.** Permettre aux membres de s'identifier entre eux et d'orienter une personne vers un·e
partenaire proche ; montrer où le réseau manque (mission du réseau, intérêt légitime), avec l'accord
de chaque membre pour figurer sur la carte.

**Qui voit quoi.** Les membres connecté·es voient toutes les fiches. Sans connexion, la carte
{"ne montre rien" if config.get("visitors") != "public" else "ne montre que les structures, les actions d'aller-vers, les points de distribution et les personnes qui ont accepté une fiche publique (colonne « visibilite » = public)"}.
Seule la coordination modifie l'annuaire ; chaque modification est inscrite au journal (qui, quand, quoi).

**Durée.** Une fiche est gardée tant que la personne est membre ; les fiches non mises à jour depuis
un an sont signalées à la coordination. Les sauvegardes gardent les {config.get("backups")} dernières versions.

**Vos droits.** Accès, rectification, opposition et effacement : écrivez à {config.get("privacy_contact")}.
Un effacement retire la fiche du fichier, de ses sauvegardes, des caches, des cartes déjà ouvertes
et du contenu du journal.
""")
if can(role, "supprimer_definitivement"):
    # On PostgreSQL, the fiche is looked for in the database; the directory read only when it cannot answer.
    held = ui.directory_on_demand()
    privacy_panel(name or "coordination", ui.referential_or_stop(), held)
