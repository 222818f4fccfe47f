"""Hostile files posted through the API: each gets a clear French error with a stable code,
nothing is half stored, nothing runs, and the worker keeps reading normal documents.

The last test streams 1 GB at a real ``classeur serve`` and expects the refusal while
streaming.
"""

from __future__ import annotations

import io
import os
import socket
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter
from sqlalchemy import func, select

from core.db import db
from core.documents.models import Document
from tests.conftest import make_pdf_bytes, wait_for

PASSWD_MARK = "root:x:0:0"


@pytest.fixture
def setup(app: Any, factory: Any) -> dict[str, Any]:
    firm = factory.firm()
    company = factory.company(firm, name="Boulangerie Martin", code="DEMO01")
    binder = factory.binder(company, "admin_documents", name="Administratif")
    user = factory.user(firm, "accountant")
    token = factory.token(user)
    app.extensions["classeur"].tasks.start()
    return {"binder": binder, "h": {"Authorization": f"Bearer {token}"}, "user": user}


def upload(client: Any, binder_id: int, h: dict[str, str], name: str, content: bytes) -> Any:
    data = {"file": [(io.BytesIO(content), name)]}
    return client.post(
        f"/api/v1/binders/{binder_id}/documents",
        data=data,
        headers=h,
        content_type="multipart/form-data",
    )


def ready(client: Any, doc_id: int, h: dict[str, str]) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        body = client.get(f"/api/v1/documents/{doc_id}", headers=h).get_json()
        return body if body["state"] not in ("received", "extracting") else None

    return wait_for(check, timeout=120)


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def _contents(folder: Path) -> list[tuple[Path, bytes]]:
    """Every stored file with its bytes; a file removed while we look (the search index
    merging its segments in the background) is skipped."""
    found = []
    for path in _files(folder):
        try:
            found.append((path, path.read_bytes()))
        except FileNotFoundError:
            continue
    return found


def assert_nothing_stored(app: Any) -> None:
    root = app.extensions["classeur"].storage.root
    with app.app_context():
        assert db.session.scalar(select(func.count(Document.id))) == 0
    assert _files(root / "tmp") == []
    assert _files(root / "originals") == []


def assert_worker_alive(client: Any, setup: dict[str, Any]) -> None:
    """A normal PDF uploaded right after the hostile one is read to the end."""
    pdf = make_pdf_bytes([f"Attestation normale {time.monotonic_ns()}"])
    response = upload(client, setup["binder"].id, setup["h"], "normal.pdf", pdf)
    assert response.status_code == 202, response.get_json()
    doc_id = response.get_json()["documents"][0]["id"]
    assert ready(client, doc_id, setup["h"])["state"] == "to_review"


# --- hostile files ----------------------------------------------------------------------------


def _plain_pdf(words: str = "Facture ordinaire") -> bytes:
    return make_pdf_bytes([words])


def encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_plain_pdf())))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-256")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def truncated_pdf() -> bytes:
    pdf = _plain_pdf()
    return pdf[: len(pdf) // 2]


def corrupt_pdf() -> bytes:
    # The tail a PDF reader looks for, around bytes that are no PDF structure at all.
    noise = bytes((i * 73 + 41) % 256 for i in range(4000))
    return b"%PDF-1.7\n" + noise + b"\nstartxref\n9\n%%EOF\n"


def million_pages_pdf() -> bytes:
    pdf = _plain_pdf()
    assert b"/Count 1 " in pdf or b"/Count 1\n" in pdf or b"/Count 1 >>" in pdf
    return pdf.replace(b"/Count 1", b"/Count 1000000", 1)


def js_and_attachment_pdf() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_plain_pdf("Facture avec script"))))
    from pypdf.actions import JavaScript

    writer.add_open_action(
        JavaScript("app.alert('pwned'); this.exportDataObject({cName: 'evil.exe', nLaunch: 2});")
    )
    writer.add_attachment("evil.exe", b"MZ\x90\x00 this would be a program")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


XML_DTD = (
    b'<?xml version="1.0"?>\n<!DOCTYPE Invoice SYSTEM "http://example.com/x.dtd">\n'
    b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>'
)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><Note>&lol9;</Note>
</Invoice>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Invoice [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><Note>&xxe;</Note>
</Invoice>"""


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    """A tiny PNG whose header announces 3.6 gigapixels (1 bit each): decoding it would need
    gigabytes; the rows compress to almost nothing."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" + b"\x00" * (width // 8 + 1)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(2000)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def small_png() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("L", (400, 200), 255)
    ImageDraw.Draw(img).text((20, 80), "Ticket de caisse", fill=0)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


REFUSED = [
    ("encrypted.pdf", encrypted_pdf, "encrypted", "protégé"),
    ("tronque.pdf", truncated_pdf, "corrupt", "endommagé"),
    ("corrompu.pdf", corrupt_pdf, "corrupt", "endommagé"),
    ("million.pdf", million_pages_pdf, "too_many_pages", "pages"),
    ("dtd.xml", lambda: XML_DTD, "xml_forbidden", "DOCTYPE"),
    ("laughs.xml", lambda: BILLION_LAUGHS, "xml_forbidden", "DOCTYPE"),
    ("xxe.xml", lambda: EXTERNAL_ENTITY, "xml_forbidden", "DOCTYPE"),
    ("bombe.png", png_bomb, "too_many_pixels", "trop grande"),
    ("vide.pdf", lambda: b"", "empty", "vide"),
]


@pytest.mark.parametrize(("name", "make", "code", "french"), REFUSED, ids=[r[0] for r in REFUSED])
def test_hostile_file_is_refused_cleanly(
    client: Any, app: Any, setup: dict[str, Any], name: str, make: Any, code: str, french: str
) -> None:
    response = upload(client, setup["binder"].id, setup["h"], name, make())
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["field"] == "file"
    assert french in error["message"]
    assert PASSWD_MARK not in response.get_data(as_text=True)
    assert_nothing_stored(app)
    assert_worker_alive(client, setup)


def test_external_entity_never_reaches_anything(
    client: Any, app: Any, setup: dict[str, Any]
) -> None:
    """Not in the answer, not in a row, not in the index, not in any file of the data dir."""
    upload(client, setup["binder"].id, setup["h"], "xxe.xml", EXTERNAL_ENTITY)
    assert_worker_alive(client, setup)
    from core.search.services import flush

    with app.app_context():
        flush()
        texts = db.session.scalars(select(Document.text)).all()
    assert all(PASSWD_MARK not in (t or "") for t in texts)
    found = client.get("/api/v1/search?q=root", headers=setup["h"]).get_json()
    assert found["results"] == []
    for path, data in _contents(app.extensions["classeur"].storage.root):
        assert PASSWD_MARK.encode() not in data, path


def test_pdf_with_javascript_and_attachment_is_a_plain_document(
    client: Any, app: Any, setup: dict[str, Any]
) -> None:
    """Intake accepts it as an ordinary PDF (nothing in Classeur executes PDF scripts or
    unpacks attachments): it is read, rendered, and the attachment is never written out."""
    pdf = js_and_attachment_pdf()
    assert b"/JavaScript" in pdf and b"/EmbeddedFile" in pdf
    response = upload(client, setup["binder"].id, setup["h"], "script.pdf", pdf)
    assert response.status_code == 202, response.get_json()
    doc_id = response.get_json()["documents"][0]["id"]
    body = ready(client, doc_id, setup["h"])
    assert body["state"] == "to_review" and body["media_type"] == "application/pdf"
    preview = client.get(f"/api/v1/documents/{doc_id}/pages/1.png", headers=setup["h"])
    assert preview.status_code == 200 and preview.data[:4] == b"\x89PNG"
    original = client.get(f"/api/v1/documents/{doc_id}/file", headers=setup["h"])
    assert original.data == pdf  # served as a download, byte for byte
    assert "attachment" in original.headers["Content-Disposition"]
    root = app.extensions["classeur"].storage.root
    assert not [
        p for p, data in _contents(root) if b"this would be a program" in data and data != pdf
    ]
    assert not list(root.rglob("evil.exe"))


def test_a_png_named_pdf_is_stored_as_a_png(client: Any, setup: dict[str, Any]) -> None:
    response = upload(client, setup["binder"].id, setup["h"], "facture.pdf", small_png())
    assert response.status_code == 202, response.get_json()
    doc_id = response.get_json()["documents"][0]["id"]
    body = client.get(f"/api/v1/documents/{doc_id}", headers=setup["h"]).get_json()
    assert body["media_type"] == "image/png"


@pytest.mark.parametrize(
    ("name", "forbidden"),
    [
        ("../../etc/passwd.pdf", ["/", ".."]),
        ("..\\..\\windows\\system32\\evil.pdf", ["\\", ".."]),
        # (a raw CR/LF or '"' cannot travel in a multipart file name: clients percent-encode it)
        ("fac\x07ture\x1b[31m\t\x7f\u202erouge.pdf", ["\x07", "\x1b", "\t", "\x7f", "\u202e"]),
        ("<script>alert(1)</script>.pdf", ["<", ">"]),
        ("R&D l'atelier.pdf", []),
        ("a" * 500 + ".pdf", []),
    ],
    ids=["traversal", "windows-traversal", "control-chars", "script", "ampersand", "500-chars"],
)
def test_hostile_names_are_stored_safely_and_escaped(
    client: Any, setup: dict[str, Any], factory: Any, name: str, forbidden: list[str]
) -> None:
    pdf = make_pdf_bytes([f"Nom hostile {name[:20]!r}"])
    response = upload(client, setup["binder"].id, setup["h"], name, pdf)
    assert response.status_code == 202, response.get_json()
    stored = response.get_json()["documents"][0]
    filename = stored["filename"]
    assert filename and filename.endswith(".pdf") and len(filename) <= 200
    for bad in forbidden:
        assert bad not in filename, (bad, filename)
    # The document page shows the stored name escaped: no markup from a file name.
    from tests.conftest import Auth

    Auth(client).login(setup["user"])
    page = client.get(f"/documents/{stored['id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script>alert" not in html
    if "&" in filename:
        assert "R&amp;D" in html and "R&D " not in html


# --- 1 GB streamed at a real server ----------------------------------------------------------


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(data_dir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "CLASSEUR_DATA_DIR": str(data_dir),
        "CLASSEUR_WORKERS": "1",
        "CLASSEUR_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    env.pop("CLASSEUR_DATABASE_URL", None)
    env.pop("CLASSEUR_MAX_UPLOAD_BYTES", None)  # the default, 50 MB
    return env


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _stream_zeros(port: int, path: str, token: str, total: int) -> tuple[int, int, bytes]:
    """POST a multipart body of ``total`` zero bytes in chunked encoding; stop sending as soon
    as the server answers. Returns (bytes sent, HTTP status, head of the answer)."""
    boundary = "classeurboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="zeros.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(600)
    sock.sendall(
        (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n"
        ).encode()
    )

    def chunk(data: bytes) -> bytes:
        return f"{len(data):x}\r\n".encode() + data + b"\r\n"

    import select as select_module

    sent = 0
    zeros = b"\x00" * (1024 * 1024)
    sock.sendall(chunk(head))
    answered = False
    try:
        while sent < total:
            readable, _, _ = select_module.select([sock], [], [], 0)
            if readable:
                answered = True
                break
            piece = zeros[: min(len(zeros), total - sent)]
            sock.sendall(chunk(piece))
            sent += len(piece)
        if not answered:
            sock.sendall(chunk(tail) + b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server closed the connection after answering
    answer = b""
    try:
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
        answer += sock.recv(65536)
    except (ConnectionResetError, TimeoutError, OSError):
        pass
    sock.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return sent, status, answer[:2000]


@pytest.mark.slow
def test_one_gigabyte_is_refused_while_streaming(tmp_path: Path) -> None:
    import requests

    data = tmp_path / "var"
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "core", *args],
        env=_env(data),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run("init", "--demo").returncode == 0
    token = run("tokens", "create", "--email", "admin@classeur.local").stdout.split()[-1]
    port = _port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "core", "serve", "--port", str(port)],
        env=_env(data),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            try:
                return requests.get(base + "/healthz", timeout=1).ok
            except requests.RequestException:
                return False

        wait_for(up, timeout=60)
        h = {"Authorization": f"Bearer {token}"}
        binder = requests.get(base + "/api/v1/binders", headers=h, timeout=10).json()[0]["id"]
        rss_before = _rss_kb(proc.pid)
        total = 1_000_000_000
        started = time.monotonic()
        sent, status, answer = _stream_zeros(
            port, f"/api/v1/binders/{binder}/documents", token, total
        )
        elapsed = time.monotonic() - started
        rss_after = _rss_kb(proc.pid)
        print(
            f"\n1 GB upload: answered {status} after {sent / 1e6:.0f} MB sent, "
            f"{elapsed:.1f} s; server RSS {rss_before // 1024} -> {rss_after // 1024} MB"
        )
        # (waitress answers this 413 itself, before the app sees the request: its body is
        # waitress's, not a French message from Classeur)
        assert status == 413, answer
        # Refused while streaming: well before the end of the gigabyte.
        assert sent < 300_000_000, f"the server read {sent} bytes before answering"
        assert rss_after - rss_before < 300 * 1024
        assert _files(data / "tmp") == []
        assert _files(data / "originals") == []
        assert proc.poll() is None
        assert requests.get(base + "/healthz", timeout=5).ok
    finally:
        proc.terminate()
        proc.wait(10)
