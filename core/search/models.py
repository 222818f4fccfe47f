"""The table of the PostgreSQL search backend (``core.search.pg_backend``).

The table exists on every database so that ``alembic upgrade heads`` gives the same schema
everywhere; it is only filled and searched on PostgreSQL. Its ``tsv`` column is a ``tsvector``
on PostgreSQL and plain text elsewhere (SQLite has no full-text column type), and its GIN index
is a b-tree on SQLite, where nothing reads it.
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Date, Index, Integer, Numeric, String, Text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from core.db import Base

#: Name of the text search configuration created by the ``0002_search_pg`` migration: French
#: stop words (before accent folding), ``unaccent``, then the French snowball stemmer.
TS_CONFIG = "classeur_french"
#: Stop-word dictionary of :data:`TS_CONFIG` (``simple`` template, ``Accept = false``).
TS_STOP_DICTIONARY = "classeur_french_stop"
#: Token types of the default parser that are words (the others keep ``french``'s mapping).
TS_WORD_TOKENS = ("asciiword", "asciihword", "hword_asciipart", "word", "hword", "hword_part")
#: ``toast_tuple_target`` of the table (migration ``0008_search_pg_speed``): a row longer than
#: this has its long values (the text, the full ``tsv``) moved out of line, so that the rows
#: that filters and ranking read stay narrow.
TOAST_TUPLE_TARGET = 128
#: Columns kept in the row (``STORAGE MAIN``) whatever ``toast_tuple_target`` says: the short
#: fields and the ranking vector ``rtsv``, read for every candidate.
INLINE_COLUMNS = (
    "company_name",
    "binder_name",
    "binder_type",
    "state",
    "filename",
    "party_name",
    "party_ids",
    "reference",
    "keywords",
    "rtsv",
)


class TSVector(TypeDecorator):
    """``tsvector`` on PostgreSQL, ``TEXT`` on other databases (where it stays empty)."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TSVECTOR())
        return dialect.type_descriptor(Text())


class TextArray(TypeDecorator):
    """A list of short strings: ``text[]`` on PostgreSQL (GIN-indexed ``mentions``), JSON text
    elsewhere (the table is only used by the PostgreSQL backend)."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(Text()))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if dialect.name == "postgresql" or value is None:
            return value
        import json

        return json.dumps(list(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if dialect.name == "postgresql" or value is None:
            return value
        import json

        return json.loads(value)


class SearchDocument(Base):
    """One searchable document, as the PostgreSQL backend indexes it.

    ``id`` is the document id. The searchable fields are the generic ones a binder type declares
    (``core.binders.searchable``): ``party_ids`` holds the identifiers without spaces, lowercase,
    space-separated; ``keywords`` one keyword a line. ``tsv`` holds weighted lexemes: A
    identifiers (reference and party identifiers, also as exact whole lexemes), B party name,
    keywords and file name, C company and binder names, D the document text; ``rtsv`` the same
    without D (the small vector results are ranked by, kept in the row while the text and
    ``tsv`` live out of line: see :data:`INLINE_COLUMNS`). ``indexed_at`` tells a rebuild which
    rows it did not rewrite (documents deleted since), so that it can remove them at the end.
    """

    __tablename__ = "search_documents"
    __table_args__ = (
        Index("ix_search_documents_tsv", "tsv", postgresql_using="gin"),
        Index("ix_search_documents_rtsv", "rtsv", postgresql_using="gin"),
        Index("ix_search_documents_firm_company", "firm_id", "company_id"),
        Index("ix_search_documents_firm_binder_type", "firm_id", "binder_type"),
        Index("ix_search_documents_firm_state", "firm_id", "state"),
        Index("ix_search_documents_firm_date", "firm_id", "date"),
        Index("ix_search_documents_firm_amount", "firm_id", "amount"),
        Index("ix_search_documents_firm_created", "firm_id", "created_at"),
        Index("ix_search_documents_mentions", "mentions", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    firm_id: Mapped[int] = mapped_column(Integer)
    company_id: Mapped[int] = mapped_column(Integer)
    company_name: Mapped[str] = mapped_column(Text)
    binder_id: Mapped[int] = mapped_column(Integer)
    binder_name: Mapped[str] = mapped_column(Text)
    binder_type: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(30))
    filename: Mapped[str] = mapped_column(Text)
    party_name: Mapped[str | None] = mapped_column(Text)
    party_ids: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(Text)
    date: Mapped[dt.date | None] = mapped_column(Date)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    keywords: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    indexed_at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text)
    tsv: Mapped[str] = mapped_column(TSVector())
    #: The ranking vector: ``tsv`` without the text (A, B and C lexemes), kept in the row.
    rtsv: Mapped[str | None] = mapped_column(TSVector())
    #: Amounts, days, months and identifiers however printed (``core.search.mentions``).
    mentions: Mapped[list[str] | None] = mapped_column(TextArray(), default=list)


def create_text_search_configuration(execute: Any) -> bool:
    """Create :data:`TS_CONFIG` with ``execute(sql)`` (PostgreSQL); True if it uses unaccent.

    ``unaccent`` is a trusted extension (PostgreSQL 13+): a database owner may create it. If it
    is not installed on the server, the configuration is plain French and the backend folds
    accents in Python instead.
    """
    available = execute(
        "SELECT count(*) FROM pg_available_extensions WHERE name = 'unaccent'"
    ).scalar()
    if available:
        execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    execute(f"CREATE TEXT SEARCH CONFIGURATION {TS_CONFIG} (COPY = pg_catalog.french)")
    execute(
        f"CREATE TEXT SEARCH DICTIONARY {TS_STOP_DICTIONARY} "
        "(TEMPLATE = pg_catalog.simple, STOPWORDS = french, ACCEPT = false)"
    )
    chain = f"{TS_STOP_DICTIONARY}, unaccent, french_stem" if available else "french_stem"
    execute(
        f"ALTER TEXT SEARCH CONFIGURATION {TS_CONFIG} "
        f"ALTER MAPPING FOR {', '.join(TS_WORD_TOKENS)} WITH {chain}"
    )
    return bool(available)


def drop_text_search_configuration(execute: Any) -> None:
    """Drop what :func:`create_text_search_configuration` created (not the extension)."""
    execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {TS_CONFIG}")
    execute(f"DROP TEXT SEARCH DICTIONARY IF EXISTS {TS_STOP_DICTIONARY}")
