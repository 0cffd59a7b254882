"""The accessibility statement (« déclaration d'accessibilité ») that French public bodies publish,
following the RGAA's model: conformity, what was measured and how, what is not accessible and the
way around it, how to reach the network and, failing that, the Défenseur des droits.

Its facts are those of the measurement that backs it (tests/test_browser_a11y.py): change them only
with a new measurement. The RGAA grants « partiellement conforme » to a site audited against its 106
criteria with at least half met; no such audit has been made (the checks are automated, plus the
keyboard's focus marks), so the state is « non conforme » until one is.
"""

from __future__ import annotations

from dataclasses import dataclass

from reseaux.text import md_escape


@dataclass(frozen=True)
class Measurement:
    """How the statement's claims were checked."""

    date: str
    axe_core: str
    rules: str
    browser: str
    sizes: str
    scope: str


#: RGAA's words for the state: « totalement conforme », « partiellement conforme » or « non conforme ».
STATUS = "non conforme"

MEASURED = Measurement(
    date="4 décembre 2026",
    axe_core="4.14.1",
    rules="wcag2a et wcag2aa (critères WCAG 2 de niveaux A et AA)",
    browser="Chromium 156 (Debian 12), sans extension",
    sizes="1 440 × 900 (ordinateur) et 390 × 844 (téléphone)",
    scope=(
        "chaque page, pour chaque rôle : personne sans compte (carte publique, et page de connexion quand "
        "l'annuaire est fermé), membre, coordination, administration ; dans la page et dans chaque carte "
        "(cadre de la carte) ; ainsi qu'une fiche ouverte sur la carte, la recherche de la carte, les "
        "résultats de « Trouver un partenaire », un fichier chargé dans l'import de l'annuaire et une "
        "présentation en plein écran"
    ),
)


def statement_markdown(contact: str) -> str:
    """The statement in Markdown; ``contact`` (configuration, RESEAUX_CONTACT_RGPD) is shown as text."""
    m = MEASURED
    return f"""
La coordination du réseau s'engage à rendre cette carte accessible, conformément à l'article 47 de la
loi n° 2005-102 du 11 février 2005. Cette déclaration s'applique à l'application Réseaux (carte du
réseau, recherche de partenaires, couverture, présentation, annuaire).

## État de conformité

Réseaux est **{STATUS}** avec le référentiel général d'amélioration de l'accessibilité (RGAA 4.1.2) :
aucun audit RGAA (106 critères, vérifiés à la main, avec des lecteurs d'écran) n'a encore été réalisé,
et le RGAA déclare « non conforme » un service qui n'a pas été audité. Ce qui a été vérifié :

- **Tests automatiques** : axe-core {m.axe_core}, règles {m.rules}, dans {m.scope}, à
  {m.sizes} — **aucune violation**. Ces tests font partie de la suite de tests de l'application et
  sont rejoués à chaque modification. Ils ne couvrent qu'une partie des critères (contrastes, noms
  des champs et des boutons, langue, structure, zoom…).
- **Clavier** : chaque élément atteint à la touche Tab (menu, filtres, formulaires, onglets, boutons,
  tableau de l'annuaire) porte une marque de focus visible (cadre bleu foncé de 3 px, contraste au
  moins 3:1). Des liens d'évitement mènent à la carte et aux résultats. Sur la carte, la recherche
  d'un acteur vient en premier ; chaque acteur et chaque groupe dessinés sont atteints à la touche
  Tab (nommés « nom, profession ») : Entrée ouvre la fiche ou sépare le groupe, Échap referme la
  fiche. Les parcours suivants sont rejoués au clavier seul par les tests : ouvrir une fiche depuis
  la carte, chercher un partenaire près d'une adresse, dérouler une présentation.

## Contenus non accessibles

- **La carte elle-même** (fond de carte, contours des périmètres) ne se lit pas au lecteur
  d'écran ; les contours des périmètres ne sont pas atteints au clavier, et les flèches ne déplacent
  pas la carte quand un acteur a le focus. **Alternatives** : la liste des
  acteurs affichés, sous la carte, qui suit les filtres et se télécharge (CSV, Excel) ; la page
  « Trouver un partenaire », qui donne en texte les partenaires les plus proches d'une adresse avec
  leurs coordonnées ; la page « Couverture », qui donne en tableau, pour chaque périmètre, le nombre
  d'acteurs et la distance au plus proche.
- **Les fonds de carte** (OpenStreetMap, IGN, CARTO) sont des images fournies par des services
  extérieurs : leurs couleurs et leurs textes ne peuvent pas être modifiés ici. Ils n'apportent pas
  d'information indispensable : les noms des communes et des périmètres sont donnés dans les listes.
- **Les tableaux** (liste des acteurs, annuaire) sont dessinés par Streamlit ; un lecteur d'écran
  les lit moins bien qu'un tableau ordinaire. Leur téléchargement (CSV, Excel) en donne le contenu entier.

## Établissement de cette déclaration

Cette déclaration a été établie le {m.date}, à partir des tests automatiques décrits plus haut.

**Technologies utilisées** : HTML, CSS, JavaScript (Streamlit, Leaflet, streamlit-folium), WAI-ARIA.

**Environnement de test** : {m.browser}, aux tailles d'écran {m.sizes}. Outil : axe-core {m.axe_core}
(Deque Systems), injecté par les tests (Playwright).

## Retour d'information et contact

Si vous n'arrivez pas à accéder à un contenu ou à un service, écrivez à {md_escape(contact)} : une
alternative accessible vous sera proposée (par exemple la liste des partenaires demandée, par courriel).

## Voies de recours

Si vous avez signalé un défaut d'accessibilité qui vous empêche d'accéder à un contenu ou à un service
et que vous n'avez pas obtenu de réponse satisfaisante, vous pouvez :

- écrire un message au Défenseur des droits (formulaire sur defenseurdesdroits.fr) ;
- contacter le délégué du Défenseur des droits dans votre région ;
- envoyer un courrier, gratuitement, sans le timbrer : Défenseur des droits, Libre réponse 71120,
  75342 Paris CEDEX 07.
"""
