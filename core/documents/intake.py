"""Intake checks: what a received file really is, and whether Classeur accepts it.

Every check works on the file's *content*, never its name. A refused file raises
:class:`RejectedFile` with a stable ``code`` (for the API and the logs) and a French ``message``
(shown to the accountant). Nothing here renders a page or runs a program: intake must be fast
and must not blow up on hostile files (page-count lies, decompression bombs, XML entities).
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import magic
from lxml import etree
from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.generic import DictionaryObject, IndirectObject

__all__ = [
    "Inspection",
    "RejectedFile",
    "inspect_file",
    "parse_xml_safely",
    "safe_filename",
]

Kind = Literal["pdf", "image", "xml"]
XmlFlavor = Literal["cii", "ubl"]

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_PAGES = 200
DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's own default for MAX_IMAGE_PIXELS

# Pillow refuses (DecompressionBombError) images over twice this value at open time; make sure
# nobody switched the protection off (None) in this process.
if Image.MAX_IMAGE_PIXELS is None:
    Image.MAX_IMAGE_PIXELS = DEFAULT_MAX_PIXELS

_IMAGE_FORMATS: dict[str, str] = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",  # JPEG from phones and cameras with an embedded preview
    "PNG": "image/png",
    "TIFF": "image/tiff",
}

_XML_ROOTS: dict[tuple[str, str], XmlFlavor] = {
    ("urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100", "CrossIndustryInvoice"): "cii",
    ("urn:ferd:CrossIndustryDocument:invoice:1p0", "CrossIndustryDocument"): "cii",
    ("urn:oasis:names:specification:ubl:schema:xsd:Invoice-2", "Invoice"): "ubl",
    ("urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2", "CreditNote"): "ubl",
}

# The PDF specification wants %%EOF in the last 1024 bytes; a file cut in transfer lacks it.
_PDF_TAIL_BYTES = 1024
# Some producers append garbage after %%EOF; tolerate a little more than the norm.
_PDF_TAIL_SEARCH = 4096


@dataclass(frozen=True)
class Inspection:
    """What :func:`inspect_file` found out about an accepted file.

    ``pages`` is the number of pages (PDF), frames (TIFF) or 1 (other images, XML).
    ``has_text_layer`` is a cheap hint for PDFs (some page uses a font), ``False`` for images
    and ``None`` for XML; :func:`core.documents.reading.text_layer` gives the actual text.
    """

    media_type: str
    pages: int
    kind: Kind
    xml_flavor: XmlFlavor | None = None
    has_text_layer: bool | None = None


def inspection_of(media_type: str, pages: int) -> Inspection:
    """The inspection of a file already accepted at intake, rebuilt from what was stored."""
    if media_type == "application/pdf":
        kind: Kind = "pdf"
    elif media_type.startswith("image/"):
        kind = "image"
    else:
        kind = "xml"
    return Inspection(media_type=media_type, pages=max(pages, 1), kind=kind)


class RejectedFile(Exception):
    """A received file that Classeur refuses, with a stable ``code`` and a French ``message``.

    Codes: ``empty``, ``too_large``, ``unsupported_type``, ``corrupt``, ``encrypted``,
    ``too_many_pages``, ``too_many_pixels``, ``xml_forbidden``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def inspect_file(
    path: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pages: int = DEFAULT_MAX_PAGES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Inspection:
    """Identify ``path`` from its content and check that Classeur can safely process it.

    Accepts PDF, JPEG, PNG, TIFF (multi-page) and XML e-invoices (CII, including ZUGFeRD 1, and
    UBL Invoice / CreditNote). Returns an :class:`Inspection`; raises :class:`RejectedFile`
    otherwise. Never raises anything else for a bad file (I/O errors on ``path`` itself, such
    as a missing file, still raise ``OSError``).
    """
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise RejectedFile("empty", "Le fichier est vide.")
    if size > max_bytes:
        raise RejectedFile(
            "too_large",
            f"Le fichier est trop volumineux ({_megabytes(size)} Mo, "
            f"maximum {_megabytes(max_bytes)} Mo).",
        )

    detected = _detect_media_type(path)
    if detected == "application/pdf":
        return _inspect_pdf(path, max_pages=max_pages)
    if detected in ("image/jpeg", "image/png", "image/tiff"):
        return _inspect_image(path, max_pages=max_pages, max_pixels=max_pixels)
    if _looks_like_xml(path, detected):
        return _inspect_xml(path, declared_xml="xml" in detected)
    raise _unsupported()


def safe_filename(name: str) -> str:
    """Return a harmless, readable file name for storing and displaying ``name``.

    Drops any directory part (``../../etc/passwd`` → ``passwd``, Windows paths too), control
    and invisible format characters, characters forbidden on common file systems, leading dots
    and spaces; caps the result at 200 characters while keeping the extension; never returns an
    empty name (``"document"``).
    """
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(
        " " if ch in "\t\n\r" else ch
        for ch in name
        if ch in "\t\n\r" or not unicodedata.category(ch).startswith("C")
    )
    name = re.sub(r'[<>:"|?*]', "_", name)
    name = re.sub(r"\s+", " ", name).strip().lstrip(". ").rstrip(". ")
    if not name:
        return "document"
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        if dot and stem and 0 < len(ext) <= 10:
            name = stem[: 200 - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            name = name[:200].rstrip(" .")
    return name or "document"


# --------------------------------------------------------------------------------------------
# Type detection
# --------------------------------------------------------------------------------------------


def _detect_media_type(path: Path) -> str:
    try:
        return magic.from_file(str(path), mime=True) or "application/octet-stream"
    except magic.MagicException:  # libmagic gave up: we cannot say what it is
        return "application/octet-stream"


def _looks_like_xml(path: Path, detected: str) -> bool:
    if "xml" in detected:
        return True
    if not detected.startswith("text/"):
        return False
    # libmagic reports XML without a declaration as text/plain or text/html.
    with path.open("rb") as fh:
        head = fh.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<")


def _unsupported() -> RejectedFile:
    return RejectedFile(
        "unsupported_type",
        "Type de fichier non pris en charge : envoyez un PDF, une image (JPEG, PNG, TIFF) "
        "ou une facture électronique XML (Factur-X/CII ou UBL).",
    )


def _corrupt(what: str) -> RejectedFile:
    return RejectedFile("corrupt", f"Le fichier {what} est endommagé ou incomplet.")


def _too_many_pages(count: int, max_pages: int, *, exact: bool = True) -> RejectedFile:
    if not exact:
        shown = f"plus de {max_pages} pages"
    elif count < 10**7:
        shown = f"{count} pages"
    else:
        shown = "un nombre de pages aberrant"
    return RejectedFile(
        "too_many_pages",
        f"Le document compte {shown} : la limite est de {max_pages} pages. "
        "Découpez-le en plusieurs fichiers.",
    )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".replace(".", ",")


# --------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------


def _inspect_pdf(path: Path, *, max_pages: int) -> Inspection:
    _check_pdf_tail(path)
    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            raise RejectedFile(
                "encrypted",
                "Le PDF est protégé par un mot de passe ou chiffré : envoyez une version "
                "non protégée.",
            )
        root = reader.trailer["/Root"].get_object()
        tree = root["/Pages"].get_object()
        count_object = tree.get("/Count", 0)
        claimed = int(getattr(count_object, "get_object", lambda: count_object)())
        if claimed > max_pages:
            raise _too_many_pages(claimed, max_pages)
        # Walk the tree ourselves, bounded: /Count may lie in either direction.
        leaves = _count_page_leaves(tree, limit=max_pages)
        if leaves > max_pages:
            raise _too_many_pages(leaves, max_pages, exact=False)
        pages = reader.pages
        count = len(pages)
        if count == 0:
            raise _corrupt("PDF")
        if count > max_pages:
            raise _too_many_pages(count, max_pages)
        has_text = False
        for page in pages:
            _ = page.mediabox.width, page.mediabox.height
            contents = page.get_contents()
            if contents is not None:
                contents.get_data()  # decodes the stream: catches broken compression
            has_text = has_text or _page_uses_fonts(page)
    except RejectedFile:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types on hostile input
        raise _corrupt("PDF") from exc
    return Inspection(
        media_type="application/pdf", pages=count, kind="pdf", has_text_layer=has_text
    )


def _check_pdf_tail(path: Path) -> None:
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - _PDF_TAIL_SEARCH))
        tail = fh.read()
    if b"%%EOF" not in tail or b"startxref" not in tail:
        raise _corrupt("PDF")


def _count_page_leaves(tree: DictionaryObject, *, limit: int) -> int:
    """Count the page leaves of a page tree, stopping as soon as ``limit`` is exceeded."""
    count = 0
    seen: set[int] = set()
    stack: list[object] = [tree]
    while stack:
        node_ref = stack.pop()
        key = id(node_ref) if not isinstance(node_ref, IndirectObject) else node_ref.idnum
        if key in seen:
            raise ValueError("page tree cycle")
        seen.add(key)
        node = node_ref.get_object() if hasattr(node_ref, "get_object") else node_ref
        if not isinstance(node, DictionaryObject):
            raise ValueError("page tree node is not a dictionary")
        if node.get("/Type") == "/Pages" or "/Kids" in node:
            kids = node.get("/Kids")
            kids = kids.get_object() if kids is not None else []
            stack.extend(kids)
        else:
            count += 1
            if count > limit:
                return count
        if len(seen) > 10 * limit + 1000:  # absurdly deep or wide intermediate nodes
            raise ValueError("page tree too large")
    return count


def _page_uses_fonts(page: DictionaryObject) -> bool:
    resources = page.get("/Resources")
    if resources is None:
        return False
    return _resources_use_fonts(resources.get_object(), depth=0)


def _resources_use_fonts(resources: object, *, depth: int) -> bool:
    if not isinstance(resources, DictionaryObject) or depth > 3:
        return False
    fonts = resources.get("/Font")
    if fonts is not None and len(fonts.get_object()) > 0:
        return True
    xobjects = resources.get("/XObject")
    if xobjects is None:
        return False
    for ref in xobjects.get_object().values():
        xobj = ref.get_object()
        if isinstance(xobj, DictionaryObject) and xobj.get("/Subtype") == "/Form":
            sub = xobj.get("/Resources")
            if sub is not None and _resources_use_fonts(sub.get_object(), depth=depth + 1):
                return True
    return False


# --------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------


def _too_many_pixels(width: int, height: int, max_pixels: int) -> RejectedFile:
    megapixels = f"{width * height / 1e6:.0f}"
    return RejectedFile(
        "too_many_pixels",
        f"L'image est trop grande ({width} × {height}, {megapixels} mégapixels ; maximum "
        f"{max_pixels / 1e6:.0f} mégapixels).",
    )


def _inspect_image(path: Path, *, max_pages: int, max_pixels: int) -> Inspection:
    try:
        with Image.open(path) as im:
            media_type = _IMAGE_FORMATS.get(im.format or "")
            if media_type is None:
                raise _unsupported()
            frames = _count_frames(im, limit=max_pages) if im.format == "TIFF" else 1
            if frames > max_pages:
                raise _too_many_pages(frames, max_pages, exact=False)
            # Header sizes first: nothing is decoded before every frame is known to be sane.
            for _ in _frames(im, frames):
                width, height = im.size
                if width * height > max_pixels:
                    raise _too_many_pixels(width, height, max_pixels)
            im.seek(0)
            im.verify()
        # verify() leaves the image unusable: reopen to decode every frame fully.
        with Image.open(path) as im:
            for _ in _frames(im, frames):
                im.load()
    except RejectedFile:
        raise
    except Image.DecompressionBombError as exc:
        size = re.findall(r"\d+", str(exc))
        pixels = int(size[0]) if size else 0
        raise RejectedFile(
            "too_many_pixels",
            f"L'image est trop grande ({pixels / 1e6:.0f} mégapixels ; maximum "
            f"{max_pixels / 1e6:.0f} mégapixels).",
        ) from exc
    except UnidentifiedImageError as exc:
        raise _corrupt("image") from exc
    except Exception as exc:  # noqa: BLE001 - Pillow decoders raise many types
        raise _corrupt("image") from exc
    return Inspection(media_type=media_type, pages=frames, kind="image", has_text_layer=False)


def _count_frames(im: Image.Image, *, limit: int) -> int:
    """Count a TIFF's frames, stopping past ``limit`` (a crafted file may chain millions)."""
    count = 0
    try:
        while count <= limit:
            im.seek(count)
            count += 1
    except EOFError:
        pass
    im.seek(0)
    return count


def _frames(im: Image.Image, count: int) -> Iterator[int]:
    for index in range(count):
        if count > 1:
            im.seek(index)
        yield index


# --------------------------------------------------------------------------------------------
# XML
# --------------------------------------------------------------------------------------------


def _xml_parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers are not safe to share between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        dtd_validation=False,
        remove_pis=True,
    )


def parse_xml_safely(path: Path) -> etree._ElementTree:
    """Parse an XML file without DTDs, entities or network access.

    Raises :class:`RejectedFile` (``xml_forbidden`` for any DOCTYPE/DTD/entity, ``corrupt``
    for malformed XML). Used by intake and by the text layer of XML documents.
    """
    with Path(path).open("rb") as fh:
        head = fh.read(64 * 1024)
    if re.search(rb"<!\s*(DOCTYPE|ENTITY)", head, re.IGNORECASE):
        raise _xml_forbidden()
    try:
        tree = etree.parse(os.fspath(path), _xml_parser())
    except etree.XMLSyntaxError as exc:
        raise _corrupt("XML") from exc
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _xml_forbidden()
    for node in tree.iter():
        if isinstance(node, etree._Entity):
            raise _xml_forbidden()
    return tree


def _xml_forbidden() -> RejectedFile:
    return RejectedFile(
        "xml_forbidden",
        "Le fichier XML contient une déclaration DOCTYPE ou des entités, refusées par "
        "sécurité : une facture électronique n'en contient jamais.",
    )


def _inspect_xml(path: Path, *, declared_xml: bool) -> Inspection:
    try:
        tree = parse_xml_safely(path)
    except RejectedFile as exc:
        if exc.code == "corrupt" and not declared_xml:
            raise _unsupported() from exc
        raise
    root = tree.getroot()
    qname = etree.QName(root)
    flavor = _XML_ROOTS.get((qname.namespace or "", qname.localname))
    if flavor is None:
        raise RejectedFile(
            "unsupported_type",
            "Ce fichier XML n'est pas une facture électronique reconnue "
            "(Factur-X/ZUGFeRD CII ou UBL Invoice/CreditNote attendu).",
        )
    return Inspection(
        media_type="application/xml", pages=1, kind="xml", xml_flavor=flavor, has_text_layer=None
    )
