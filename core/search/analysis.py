"""Text analysis for French documents: tokens, lowercase, stop words, accent folding, stemming.

Accents are folded *before* stemming so that "électricité" and "electricite" give the same stem.
"""

from __future__ import annotations

import html
import re
from functools import cache, lru_cache

from whoosh.analysis import (
    Analyzer,
    CharsetFilter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.lang import stemmer_for_language, stopwords_for_language
from whoosh.support.charset import accent_map

#: Words (underscores split words: file names), numbers with inner dots or commas kept
#: together ("1234,56", "12.03.2024").
WORD_PATTERN = r"\d+(?:[.,]\d+)+|[^\W_]+"
#: A whole identifier: any run of non-space characters holding a letter or a digit.
IDENTIFIER_PATTERN = r"\S*\w\S*"


@cache
def french_analyzer() -> Analyzer:
    """The analyzer of full-text fields (document text, file name, party name, keywords, names)."""
    return (
        RegexTokenizer(WORD_PATTERN)
        | LowercaseFilter()
        | StopFilter(lang="fr")
        | CharsetFilter(accent_map)
        | StemFilter(lang="fr", cachesize=100_000)
    )


@cache
def identifier_analyzer() -> Analyzer:
    """The analyzer of identifiers (a reference, a party's identifiers): one lowercase token.

    Values are indexed through :func:`normalize_identifier` (no spaces). French stop words are
    dropped, and so are words without a letter or digit ("~~", "{"), so that such query words
    do not become required identifier terms.
    """
    return RegexTokenizer(IDENTIFIER_PATTERN) | LowercaseFilter() | StopFilter(lang="fr", minsize=1)


def normalize_identifier(value: str) -> str:
    """Canonical form of an identifier: no spaces, lowercase."""
    return "".join(value.split()).lower()


_WORD_RE = re.compile(WORD_PATTERN)
_STOP_WORDS = frozenset(stopwords_for_language("fr"))
_STEM = stemmer_for_language("fr")


@lru_cache(maxsize=200_000)
def stem_word(word: str) -> str | None:
    """The indexed term of one lowercase word, exactly as :func:`french_analyzer` makes it.

    None for a stop word or a one-letter word (the analyzer drops them).
    """
    if len(word) < 2 or word in _STOP_WORDS:
        return None
    return _STEM(word.translate(accent_map))


def highlight(text: str, terms: frozenset[str], max_chars: int = 160) -> str:
    """An HTML snippet of ``text`` around its first matched terms, or "" if none matches.

    The text is escaped; words whose indexed term is in ``terms`` are wrapped in
    ``<mark>…</mark>``. Much cheaper than whoosh's highlighter, which runs every token of the
    document through the analyzer's generator chain.
    """
    # Words are stemmed up to the end of the snippet only (not the whole document).
    spans: list[tuple[int, int]] = []
    stop = len(text)
    # A French stem keeps the start of its (accent-folded) word: words starting otherwise
    # are not stemmed at all.
    starts = {term[:2] for term in terms} if all(len(t) >= 2 for t in terms) else None
    for m in _WORD_RE.finditer(text):
        if m.start() > stop:
            break
        word = m.group().lower()
        if starts is not None and word[:2].translate(accent_map)[:2] not in starts:
            continue
        if stem_word(word) in terms:
            if not spans:
                stop = m.start() + max_chars + 20
            spans.append((m.start(), m.end()))
    if not spans:
        return ""
    start = max(0, spans[0][0] - 40)
    if start:
        space = text.rfind(" ", 0, start)
        start = space + 1 if space >= 0 else start
    end = min(len(text), start + max_chars)
    if end < len(text):
        space = text.find(" ", end)
        end = space if 0 <= space < end + 20 else end
    out = ["… "] if start else []
    pos = start
    for s, e in spans:
        if s < start:
            continue
        if e > end:
            break
        out.append(html.escape(text[pos:s], quote=False))
        out.append("<mark>" + html.escape(text[s:e], quote=False) + "</mark>")
        pos = e
    out.append(html.escape(text[pos:end], quote=False))
    if end < len(text):
        out.append(" …")
    return "".join(out).strip()
