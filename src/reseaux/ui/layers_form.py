"""« Ajouter une couche de périmètres », for coordinators (page « Sources et crédits »): the
same function as ``python -m reseaux layers add``, with the file's own fields to choose from."""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from reseaux import config
from reseaux.annuaire.directory import DirectoryError
from reseaux.app_data import Territory, registry_path
from reseaux.importation.reading import MAX_UPLOAD_BYTES
from reseaux.territoire.add_layer import (
    GEO_SUFFIXES,
    KEYS,
    TABLE_SUFFIXES,
    RepeatedCodesError,
    add_layer,
    fields_of,
    file_layers,
    suggested_fields,
    suggested_id,
    upload_on_disk,
)
from reseaux.territoire.layers import DEFAULT_GROUP, LayerError
from reseaux.text import md_escape, plural

LOG = logging.getLogger("reseaux")


def add_layer_form(terr: Territory) -> None:
    st.header("Ajouter une couche de périmètres")
    registry = registry_path(terr.network) if terr.network else None
    if registry is None:
        st.info(
            'Ce territoire n\'a pas de registre de couches : ajoutez `registre = "layers.toml"` à son fichier '
            f"({terr.network.source.name if terr.network else 'RESEAUX_TERRITORY'}) pour en ajouter."
        )
        return
    st.caption(
        "GeoJSON, TopoJSON, GeoPackage, shapefile zippé (.zip), KML ou KMZ (Google My Maps, Google Earth), "
        "ou CSV d'une ligne par (périmètre, commune). "
        "Les polygones invalides sont réparés ; les codes gardent leurs zéros."
    )
    upload = st.file_uploader(
        "Fichier des périmètres",
        type=[s.lstrip(".") for s in GEO_SUFFIXES + TABLE_SUFFIXES if s != ".shp"],
        key="ly_file",
    )
    if upload is None:
        return
    if upload.size > MAX_UPLOAD_BYTES:
        st.error(f"Fichier trop gros ({upload.size // 1024} Ko) : la limite est {MAX_UPLOAD_BYTES // 1024} Ko.")
        return
    # On disk for this run only: the folder goes at the end of the run, whatever happens in it.
    with upload_on_disk(upload.name, upload.getvalue()) as path:
        _form(registry, upload.name, path, upload.file_id)


#: The choice of a commune list's key: « tell me » first, so that nothing is merged silently.
KEY_CHOICES = {
    "": "me signaler les codes répétés d'un département à l'autre",
    **{key: f"un périmètre par {label}" for key, label in KEYS.items()},
}


def _form(registry: Path, name: str, path: Path, file_id: str) -> None:
    # The widgets are the file's own: keyed by the form alone, the next file's form (after a layer
    # was added) kept the last one's identifier, label, fields and layer, in the browser too.
    def wkey(name: str) -> str:
        return f"ly_{name}_{file_id}"

    try:
        layers = file_layers(path)
        file_layer = ""
        if len(layers) > 1:  # a GeoPackage of several layers: chosen here, not the first one read silently
            counts = dict(layers)
            file_layer = st.selectbox(
                "Couche du fichier",
                list(counts),
                key=wkey("file_layer"),
                format_func=lambda n: f"{n} ({plural(counts[n], 'périmètre')})",
                help=f"Ce fichier contient {len(layers)} couches : choisissez celle à ajouter.",
            )
        fields = fields_of(path, file_layer)
    except (LayerError, DirectoryError) as exc:
        st.error(f"Fichier non utilisable : {md_escape(str(exc).rstrip('.'))}.")
        return
    except Exception:  # any reader's failure, said in French; the detail goes to the log
        LOG.exception("Couche : %s illisible", name)
        st.error(
            f"{md_escape(Path(name).name)} illisible : vérifiez qu'il s'agit d'un GeoJSON, d'un GeoPackage, d'un "
            "shapefile zippé, d'un KML ou KMZ ou d'un CSV, puis ajoutez-le de nouveau."
        )
        return
    is_table = path.suffix.lower() in TABLE_SUFFIXES
    with st.form(wkey("form")):
        left, right = st.columns(2)
        code_first, name_first = suggested_fields(path, fields, file_layer)
        code_field = left.selectbox(
            "Champ du code de chaque périmètre", fields, index=fields.index(code_first), key=wkey("code")
        )
        name_field = right.selectbox("Champ du nom", fields, index=fields.index(name_first), key=wkey("name"))
        commune_field = (
            left.selectbox("Colonne du code INSEE de la commune", fields, key=wkey("commune")) if is_table else ""
        )
        layer_id = left.text_input(
            "Identifiant (lettres minuscules, chiffres, _)",
            key=wkey("id"),
            value=suggested_id(name),
        )
        label = right.text_input("Libellé affiché", key=wkey("label"), value=Path(name).stem)
        group = left.text_input("Groupe dans la légende", value=DEFAULT_GROUP, key=wkey("group"))
        licence = right.text_input("Licence", key=wkey("licence"))
        source = left.text_input("Source (producteur, adresse)", key=wkey("source"))
        vintage = right.text_input("Millésime", key=wkey("vintage"))
        where_field = left.selectbox(
            "Ne garder que les périmètres dont… (facultatif)", ["—", *fields], key=wkey("where_field")
        )
        where_value = right.text_input("… ce champ vaut", key=wkey("where_value"))
        perimeter_key = (
            st.radio(
                "Si un même code de périmètre a des communes dans plusieurs départements (des cantons "
                "numérotés dans chaque département)",
                list(KEY_CHOICES),
                format_func=KEY_CHOICES.get,
                key=wkey("key"),
            )
            if is_table
            else ""
        )
        zone = st.checkbox(
            "Ses codes peuvent être cités dans la zone d'intervention d'une action d'aller-vers (des QPV, "
            "par exemple) : « Trouver » annoncera les actions qui passent dans ces périmètres",
            key=wkey("zone"),
        )
        submitted = st.form_submit_button("Ajouter la couche", type="primary")
    if not submitted:
        return
    where = {where_field: where_value.strip()} if where_field != "—" and where_value.strip() else {}
    try:
        added = add_layer(
            path,
            layer_id=layer_id.strip(),
            code_field=code_field,
            name_field=name_field,
            commune_field=commune_field,
            registry=registry,
            geo_dir=config.path("geo_dir"),
            label=label.strip(),
            group=group.strip(),
            where=where,
            source=source.strip(),
            licence=licence.strip(),
            vintage=vintage.strip(),
            file_layer=file_layer,
            key=perimeter_key,
            zone_intervention=zone,
        )
    except RepeatedCodesError as exc:
        st.warning(
            f"Couche non ajoutée : {md_escape(exc)}. Choisissez ci-dessus « un périmètre par le département et "
            "le code » ou « un périmètre par le code seul », puis ajoutez de nouveau."
        )
        return
    except LayerError as exc:
        st.error(f"Couche non ajoutée : {md_escape(exc)}.")
        return
    from reseaux.ui import territory

    territory.clear()
    st.success(
        md_escape(added.sentence()) + " Sur la carte, choisissez-la dans « Périmètres affichés » ; elle est aussi dans "
        "« Couverture » et dans « Dans le périmètre »."
    )
