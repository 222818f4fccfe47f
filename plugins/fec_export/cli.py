"""``classeur fec export --company CODE --start AAAA-MM-JJ --end AAAA-MM-JJ [--out FILE]``."""

from __future__ import annotations

import sys
from pathlib import Path

import click


class _Refused(click.ClickException):
    """A refusal shown in French, without click's English "Error:" prefix."""

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        click.echo(f"Erreur : {self.format_message()}", err=True)


@click.group("fec")
def fec() -> None:
    """Journal d'achats au format FEC."""


@fec.command("export")
@click.option("--company", "code", required=True, help="Code dossier de l'entreprise.")
@click.option("--firm", "firm_id", type=int, help="Cabinet (id), si le code est ambigu.")
@click.option("--start", required=True, help="Premier jour de la période (AAAA-MM-JJ).")
@click.option("--end", required=True, help="Dernier jour de la période (AAAA-MM-JJ).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Fichier où écrire le FEC (par défaut : la sortie standard).",
)
@click.option(
    "--csv",
    "csv_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Fichier où écrire aussi le journal CSV.",
)
def export(
    code: str, firm_id: int | None, start: str, end: str, out: Path | None, csv_out: Path | None
) -> None:
    """Export the purchase journal of a company over a period (FEC, and CSV with --csv).

    Same rules as the tab "Journal d'achats": a new version only when something changed.
    """
    from sqlalchemy import select

    from core.plugin_api import (
        Company,
        ServiceError,
        app_context,
        batch_file,
        db,
        export_period,
    )
    from plugins.fec_export.exporter import NAME, audit_export, batch_notes

    with app_context():
        stmt = select(Company).where(Company.dossier_code == code)
        if firm_id is not None:
            stmt = stmt.where(Company.firm_id == firm_id)
        companies = db.session.scalars(stmt).all()
        if not companies:
            raise _Refused(f"Aucune entreprise de code dossier « {code} ».")
        if len(companies) > 1:
            raise _Refused(
                f"Plusieurs entreprises ont le code dossier « {code} » : précisez --firm "
                f"({', '.join(str(c.firm_id) for c in companies)})."
            )
        try:
            done = export_period(companies[0], NAME, start, end, None)
        except ServiceError as exc:
            db.session.rollback()
            raise _Refused(exc.message) from exc
        batch = done.batch
        audit_export(companies[0], done, "cli")
        db.session.commit()
        path, filename, _media = batch_file(batch)
        content = path.read_bytes()
        if out is None:
            sys.stdout.buffer.write(content)
            sys.stdout.buffer.flush()
        else:
            out.write_bytes(content)
        if csv_out is not None and batch.files:
            csv_out.write_bytes(batch_file(batch, "csv")[0].read_bytes())
        state = "nouvelle version" if done.created else "inchangée"
        click.echo(
            f"{filename} : version {batch.version} ({state}), {batch.document_count} facture(s)"
            + (f", {len(done.rejected)} laissée(s) hors du journal" if done.rejected else ""),
            err=True,
        )
        for document_id, message in sorted(done.rejected.items()):
            click.echo(f"  document {document_id} : {message}", err=True)
        for note in batch_notes(batch):
            click.echo(f"  à saisir : {note}", err=True)
