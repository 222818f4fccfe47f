"""``classeur extract FILE --json``: the fields of one invoice file, without any database."""

from __future__ import annotations

import json
from pathlib import Path

import click


class _Refused(click.ClickException):
    """A refusal shown in French, without click's English "Error:" prefix."""

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        click.echo(f"Erreur : {self.format_message()}", err=True)


@click.command("extract")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--no-einvoice", is_flag=True, help="Ignorer le XML de facture électronique.")
@click.option("--json", "as_json", is_flag=True, help="Écrire les champs en JSON.")
@click.option(
    "--layout", is_flag=True, help="Afficher la mise en page lue (lignes et colonnes), sans champs."
)
def extract(file: Path, no_einvoice: bool, as_json: bool, layout: bool) -> None:
    """Read one invoice file (PDF, image, XML) and print its fields."""
    from plugins.binder_purchases.extraction import InvoiceReadError, extract_file
    from plugins.binder_purchases.fields import sanitize_extracted

    if not file.is_file():
        raise _Refused(f"Fichier introuvable : {file}")
    if layout:
        from plugins.binder_purchases.extraction.files import read_layout

        try:
            click.echo(read_layout(file).text)
        except InvoiceReadError as exc:
            raise _Refused(exc.message) from exc
        return
    try:
        fields = extract_file(file, use_einvoice=not no_einvoice)
    except InvoiceReadError as exc:
        raise _Refused(exc.message) from exc
    except OSError as exc:
        raise _Refused(f"Fichier illisible : {file} ({exc.strerror})") from exc
    fields = sanitize_extracted(fields)
    if as_json:
        click.echo(json.dumps(fields, ensure_ascii=False, indent=2))
        return
    sup = fields.get("supplier") or {}
    for label, value in (
        ("Fournisseur", sup.get("name")),
        ("SIREN", sup.get("siren")),
        ("N° TVA", sup.get("vat_number")),
        ("N° facture", fields.get("invoice_number")),
        ("Date", fields.get("invoice_date")),
        ("Échéance", fields.get("due_date")),
        ("Total HT", fields.get("total_excl_tax")),
        ("TVA", fields.get("total_tax")),
        ("Total TTC", fields.get("total_incl_tax")),
        ("Net à payer", fields.get("amount_due")),
        ("Client", (fields.get("buyer") or {}).get("name")),
        ("Source", fields.get("source")),
    ):
        click.echo(f"{label:12} {value if value is not None else '—'}")
