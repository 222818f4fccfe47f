"""The entries written as a FEC (article A47 A-1 of the LPF) and as a CSV journal.

FEC: the 18 columns in the order of the text, a header line with their names, fields
separated by a tab, one line per accounting line, dates ``YYYYMMDD``, amounts with a decimal
comma and no thousands separator, lines ending in CRLF, encoded in UTF-8 (no BOM) unless the
company chose ISO-8859-15. File name ``<SIREN>FEC<YYYYMMDD of the period's end>.txt``.

CSV journal: the same lines for a spreadsheet — semicolon separated, French decimal comma,
dates ``JJ/MM/AAAA``, UTF-8 with a BOM (so that a spreadsheet reads the accents).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal

from plugins.fec_export.journal import Entry, JournalSettings

#: The 18 columns of article A47 A-1, in order.
FEC_COLUMNS: tuple[str, ...] = (
    "JournalCode",
    "JournalLib",
    "EcritureNum",
    "EcritureDate",
    "CompteNum",
    "CompteLib",
    "CompAuxNum",
    "CompAuxLib",
    "PieceRef",
    "PieceDate",
    "EcritureLib",
    "Debit",
    "Credit",
    "EcritureLet",
    "DateLet",
    "ValidDate",
    "Montantdevise",
    "Idevise",
)

CSV_COLUMNS: tuple[str, ...] = (
    "Journal",
    "N° écriture",
    "Date",
    "Compte",
    "Libellé du compte",
    "Compte auxiliaire",
    "Libellé auxiliaire",
    "Pièce",
    "Date de pièce",
    "Libellé",
    "Débit",
    "Crédit",
    "Date de validation",
    "Document Classeur",
)

ENCODINGS = {"utf-8": "UTF-8", "iso-8859-15": "ISO-8859-15"}


def amount(value: Decimal) -> str:
    """``1234,50``: a decimal comma, two decimals, no thousands separator."""
    return f"{value:.2f}".replace(".", ",")


def _clean(text: str) -> str:
    # A tab, a line break or a pipe inside a value would shift the columns.
    return " ".join(str(text).replace("|", " ").split())


def fec_lines(entries: Iterable[Entry], settings: JournalSettings) -> Iterable[str]:
    """The FEC's lines (header first), without line ends."""
    yield "\t".join(FEC_COLUMNS)
    code, label = _clean(settings.journal_code), _clean(settings.journal_label)
    for entry in entries:
        entry_date = f"{entry.entry_date:%Y%m%d}"
        piece_date = f"{entry.piece_date:%Y%m%d}"
        valid_date = f"{entry.valid_date:%Y%m%d}"
        number = str(entry.number)
        piece = _clean(entry.piece_ref)
        for line in entry.lines:
            yield "\t".join(
                (
                    code,
                    label,
                    number,
                    entry_date,
                    line.account,
                    _clean(line.account_label),
                    _clean(line.aux_code),
                    _clean(line.aux_label),
                    piece,
                    piece_date,
                    _clean(line.label),
                    amount(line.debit),
                    amount(line.credit),
                    "",
                    "",
                    valid_date,
                    "",
                    "",
                )
            )


def render_fec(entries: Iterable[Entry], settings: JournalSettings) -> bytes:
    """The FEC file's bytes, in the company's encoding (characters it lacks become "?")."""
    text = "".join(line + "\r\n" for line in fec_lines(entries, settings))
    encoding = settings.encoding if settings.encoding in ENCODINGS else "utf-8"
    return text.encode(encoding, errors="replace")


def render_csv(entries: Iterable[Entry], settings: JournalSettings) -> bytes:
    """The CSV journal's bytes (UTF-8 with BOM, ``;``, decimal comma)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        for line in entry.lines:
            writer.writerow(
                (
                    settings.journal_code,
                    entry.number,
                    f"{entry.entry_date:%d/%m/%Y}",
                    line.account,
                    line.account_label,
                    line.aux_code,
                    line.aux_label,
                    entry.piece_ref,
                    f"{entry.piece_date:%d/%m/%Y}",
                    line.label,
                    amount(line.debit),
                    amount(line.credit),
                    f"{entry.valid_date:%d/%m/%Y}",
                    entry.document_id,
                )
            )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
