"""Purchase-invoice field extraction: e-invoice XML, text layer and OCR.

Public API: :func:`extract_file`, :func:`read_einvoice`, :func:`extract_from_text`,
:func:`extract_from_layout` and :class:`Layout` (words with positions), supplier templates
(:func:`learn_template`, :func:`apply_template`), :func:`parse_amount`, :func:`parse_date`,
:class:`InvoiceReadError`, and the ``checks`` module.
"""

from __future__ import annotations

from . import checks
from .einvoice import read_einvoice
from .errors import InvoiceReadError
from .files import extract_file
from .layout import Layout
from .numbers import parse_amount, parse_date
from .templates import apply_template, learn_template
from .text import extract_from_layout, extract_from_text

__all__ = [
    "InvoiceReadError",
    "Layout",
    "apply_template",
    "checks",
    "extract_file",
    "extract_from_layout",
    "extract_from_text",
    "learn_template",
    "parse_amount",
    "parse_date",
    "read_einvoice",
]
