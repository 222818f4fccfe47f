"""OCR benchmark: seconds per scanned page through OcrEngine, against the bound and ocrmypdf.

    .venv/bin/python bench/ocr.py             # 20 pages, as reported in docs/reading.md
    .venv/bin/python bench/ocr.py --pages 4   # quick check
    .venv/bin/python bench/ocr.py --scan-dpi 200 --no-ocrmypdf   # 200 dpi scans (enlarged)

Builds N imitation scans (A4, 300 dpi or ``--scan-dpi``, French invoice text, tilt, blur,
noise) into one image-only PDF, then measures, on the same machine and the same pages:

* ``engine``: ``OcrEngine(processes=2).ocr_pages(...)`` on the PDF (rendering included), warm
  pool, with the page preparation (deskew, resolution, orientation when in doubt) and the words;
* ``raw``: the same engine with ``preprocess=False`` (no deskew, no resolution change, no
  orientation): what the preparation costs;
* ``bound``: the ``tesseract`` command run directly on the page images already rendered from
  that PDF (what the engine OCRs), two processes at a time with ``OMP_THREAD_LIMIT=1``;
* ``ocrmypdf``: ``ocrmypdf --jobs 2`` on the PDF, if installed.

Then the cost of turning pages: two of the pages lying on their side (90° and 270°) and one
upside down, each read alone by the engine (seconds, and whether the text came out upright).

Also times the two ways of reading a PDF text layer (pdftotext vs pypdf) on a one-page PDF.
Each figure is the best of ``--repeat`` rounds, the methods interleaved (the machine is shared);
CPU seconds (descendant processes, tesseract included) are printed next to wall seconds.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw, ImageFilter, ImageFont  # noqa: E402

from core.documents.intake import inspect_file  # noqa: E402
from plugins.ocr_tesseract.ocr import OcrEngine  # noqa: E402

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
SUPPLIERS = [
    "Quincaillerie Dupont SARL",
    "Boulangerie Martin",
    "Garage des Alpes",
    "Imprimerie Lefebvre et Fils",
    "Transports Rousseau",
]
ITEMS = [
    "Vis inox 4x40, boite de 200",
    "Cheville nylon 8 mm",
    "Ramette papier A4 80 g",
    "Cartouche encre noire",
    "Main d'oeuvre atelier",
    "Location benne 10 m3",
    "Frais de port et emballage",
    "Abonnement maintenance mensuel",
    "Pneumatique 205/55 R16",
    "Baguettes tradition",
]


def invoice_lines(rng: random.Random, number: int) -> list[str]:
    """French invoice-like text for one page."""
    supplier = rng.choice(SUPPLIERS)
    lines = [
        supplier,
        f"{rng.randint(1, 120)} rue de la Republique, {rng.randint(10, 95)}000 Lyon",
        f"SIRET {rng.randint(100, 999)} {rng.randint(100, 999)} {rng.randint(100, 999)} 00012",
        "",
        f"FACTURE N° F-2024-{number:04d}          Date : {rng.randint(1, 28):02d}/03/2024",
        "Client : Cabinet Comptable Bernard, 8 place Bellecour, 69002 Lyon",
        "",
        "Designation                              Qte   P.U. HT    Total HT",
    ]
    total = 0.0
    for _ in range(22):
        qty = rng.randint(1, 12)
        price = rng.randint(100, 25000) / 100
        total += qty * price
        label = rng.choice(ITEMS)
        lines.append(f"{label:<40} {qty:>3} {price:>9.2f} {qty * price:>10.2f}".replace(".", ","))
    vat = total * 0.2
    lines += [
        "",
        f"Total HT {total:>50.2f} EUR".replace(".", ","),
        f"TVA 20 % {vat:>50.2f} EUR".replace(".", ","),
        f"Total TTC {total + vat:>49.2f} EUR".replace(".", ","),
        "",
        "Paiement a 30 jours fin de mois. Penalites de retard : 3 fois le taux legal.",
        "Indemnite forfaitaire pour frais de recouvrement : 40 euros.",
    ]
    return lines


def scanned_a4(lines: list[str], seed: int, dpi: int = 300) -> Image.Image:
    """An A4 page at 300 dpi (2480 × 3508) that looks scanned: tilt, blur, noise, specks.

    With another ``dpi``, the page is then resampled to that resolution (a coarser scanner).
    """
    rng = random.Random(seed)
    size = (2480, 3508)
    page = Image.new("L", size, 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(FONT, 38)
    y = 180
    for line in lines:
        draw.text((180, y), line, fill=20, font=font)
        y += 62
    page = page.rotate(rng.uniform(-0.8, 0.8), resample=Image.Resampling.BICUBIC, fillcolor=255)
    page = page.filter(ImageFilter.GaussianBlur(0.7))
    page = Image.blend(page, Image.effect_noise(size, 30), 0.15)
    draw = ImageDraw.Draw(page)
    for _ in range(3000):
        draw.point((rng.randrange(size[0]), rng.randrange(size[1])), fill=rng.choice((0, 90)))
    if dpi != 300:
        scaled = (round(size[0] * dpi / 300), round(size[1] * dpi / 300))
        page = page.resize(scaled, Image.Resampling.LANCZOS)
    return page


def build_pdf(folder: Path, count: int, dpi: int = 300) -> tuple[Path, list[list[str]]]:
    """Write ``count`` scanned pages into one image-only PDF; return it and the page texts."""
    rng = random.Random(42)
    texts = [invoice_lines(rng, n) for n in range(1, count + 1)]
    pages = [scanned_a4(lines, seed=n, dpi=dpi) for n, lines in enumerate(texts)]
    pdf = folder / "scans.pdf"
    pages[0].save(pdf, save_all=True, append_images=pages[1:], resolution=dpi, quality=85)
    return pdf, texts


def turned_pages(folder: Path, lines: list[str]) -> list[tuple[str, Path]]:
    """One page scanned on its side both ways and one upside down, as image-only PDFs."""
    page = scanned_a4(lines, seed=99)
    found = []
    for label, angle in (("90°", 90), ("270°", 270), ("180°", 180)):
        path = folder / f"turned-{angle}.pdf"
        page.rotate(angle, expand=True).save(path, resolution=300, quality=85)
        found.append((label, path))
    return found


def render_pages(pdf: Path, folder: Path) -> list[Path]:
    """The page images the engine OCRs: 300 dpi grayscale PGM, rendered once, up front."""
    subprocess.run(["pdftoppm", "-r", "300", "-gray", str(pdf), str(folder / "page")], check=True)
    return sorted(folder.glob("page-*.pgm"))


def run_bound(images: list[Path], jobs: int) -> list[str]:
    """``tesseract`` on each image, ``jobs`` at a time, one OpenMP thread each."""
    env = dict(os.environ, OMP_THREAD_LIMIT="1")

    def one(image: Path) -> str:
        done = subprocess.run(
            ["tesseract", str(image), "stdout", "-l", "fra+eng"],
            capture_output=True,
            env=env,
            check=True,
        )
        return done.stdout.decode()

    with ThreadPoolExecutor(jobs) as pool:
        return list(pool.map(one, images))


def ocrmypdf_command() -> Path | None:
    candidate = Path(sys.executable).parent / "ocrmypdf"
    if candidate.exists():
        return candidate
    found = shutil.which("ocrmypdf")
    return Path(found) if found else None


def run_ocrmypdf(command: Path, pdf: Path, folder: Path, jobs: int) -> list[str]:
    sidecar = folder / "ocrmypdf.txt"
    subprocess.run(
        [
            str(command),
            "-q",
            "-l",
            "fra+eng",
            "--jobs",
            str(jobs),
            "--output-type",
            "pdf",
            "--optimize",
            "0",
            "--sidecar",
            str(sidecar),
            str(pdf),
            str(folder / "ocrmypdf-out.pdf"),
        ],
        check=True,
        capture_output=True,
    )
    return sidecar.read_text().split("\f")


def word_recall(expected: list[list[str]], found: list[str]) -> float:
    """Share of the expected words (4+ letters) found on the right page."""
    hits = total = 0
    for lines, text in zip(expected, found, strict=False):
        seen = set(text.split())
        for word in " ".join(lines).split():
            if len(word) >= 4 and word.isalpha():
                total += 1
                hits += word in seen
    return hits / total if total else 0.0


def cpu_seconds() -> float:
    """CPU seconds of this process's descendants: finished ones plus live pool workers.

    Wall time on a shared machine depends on the neighbours; CPU time much less so.
    """
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = usage.ru_utime + usage.ru_stime
    tick = os.sysconf("SC_CLK_TCK")
    for child in multiprocessing.active_children():
        stat = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += sum(int(value) for value in stat[11:15]) / tick  # utime stime cutime cstime
    return total


def timed(func: Callable[[], list[str]]) -> tuple[float, list[str]]:
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


SHARED_PDFS = ROOT.parent / "shared" / "data" / "invoices" / "pdf" / "invoice2data"


def text_layer_timings(folder: Path, rounds: int = 10) -> list[tuple[str, float, float]]:
    """Milliseconds to read a PDF's text layer: pdftotext -layout vs pypdf, per file.

    Files: a generated one-page reportlab invoice, plus the real invoices of the shared
    corpus when present (born-digital PDFs from several producers).
    """
    from pypdf import PdfReader
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    pdf = canvas.Canvas(buf)
    rng = random.Random(1)
    for n, line in enumerate(invoice_lines(rng, 1)):
        pdf.drawString(40, 800 - 14 * n, line)
    pdf.save()
    generated = folder / "generated-reportlab.pdf"
    generated.write_bytes(buf.getvalue())
    files = [generated, *sorted(SHARED_PDFS.glob("*.pdf"))]

    results = []
    for path in files:

        def poppler(path: Path = path) -> None:
            subprocess.run(
                ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True
            )

        def pure_python(path: Path = path) -> None:
            for page in PdfReader(path).pages:
                page.extract_text()

        timings = []
        for func in (poppler, pure_python):
            func()
            start = time.perf_counter()
            for _ in range(rounds):
                func()
            timings.append((time.perf_counter() - start) / rounds * 1000)
        results.append((path.name, timings[0], timings[1]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20, help="scanned pages (default 20)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel processes (default 2)")
    parser.add_argument("--repeat", type=int, default=2, help="rounds, best kept (default 2)")
    parser.add_argument("--no-ocrmypdf", action="store_true", help="skip ocrmypdf")
    parser.add_argument("--scan-dpi", type=int, default=300, help="scan resolution (300)")
    parser.add_argument("--no-text-layer", action="store_true", help="skip the text layer")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="classeur-bench-ocr-") as tmp:
        folder = Path(tmp)
        if not args.no_text_layer:
            print("text layer (ms per file): pdftotext -layout | pypdf extract_text")
            for name, ms_poppler, ms_pypdf in text_layer_timings(folder):
                print(f"  {name:28} {ms_poppler:7.1f} | {ms_pypdf:7.1f}")

        pdf, texts = build_pdf(folder, args.pages, args.scan_dpi)
        images = render_pages(pdf, folder)
        inspection = inspect_file(pdf)
        page_numbers = list(range(1, inspection.pages + 1))
        command = None if args.no_ocrmypdf else ocrmypdf_command()

        best: dict[str, float] = {}
        cpu: dict[str, float] = {}
        outputs: dict[str, list[str]] = {}
        turned: list[tuple[str, float, float, bool]] = []
        with (
            OcrEngine(processes=args.jobs) as engine,
            OcrEngine(processes=args.jobs, preprocess=False) as raw,
        ):
            cold, _ = timed(lambda: list(engine.ocr_pages(pdf, inspection, [1, 2]).values()))
            raw.ocr_pages(pdf, inspection, [1, 2])  # start its pool too
            for round_number in range(args.repeat):
                methods: dict[str, Callable[[], list[str]]] = {
                    "bound": lambda: run_bound(images, args.jobs),
                    "engine": lambda: list(
                        engine.ocr_pages(pdf, inspection, page_numbers).values()
                    ),
                    "raw": lambda: list(raw.ocr_pages(pdf, inspection, page_numbers).values()),
                }
                if command is not None and round_number == 0:  # slow: one round is enough
                    methods["ocrmypdf"] = lambda: run_ocrmypdf(command, pdf, folder, args.jobs)
                for name, func in methods.items():
                    before = cpu_seconds()
                    seconds, outputs[name] = timed(func)
                    used = cpu_seconds() - before
                    best[name] = min(best.get(name, seconds), seconds)
                    cpu[name] = min(cpu.get(name, used), used)
            expected = invoice_lines(random.Random(42), 1)
            for label, path in turned_pages(folder, expected):
                turned_inspection = inspect_file(path)
                before = cpu_seconds()
                seconds, found = timed(
                    lambda path=path, ins=turned_inspection: [engine.ocr_pages(path, ins, [1])[1]]
                )
                used = cpu_seconds() - before
                turned.append((label, seconds, used, word_recall([expected], found)))

        n = len(page_numbers)
        print(
            f"{n} scanned A4 pages at {args.scan_dpi} dpi, {args.jobs} processes, "
            f"best of {args.repeat}"
        )
        print(f"load average at the end: {os.getloadavg()[0]:.1f} (machine shared)")
        print(f"engine first call (pool start + 2 pages): {cold:.2f} s")
        print("method      wall s  wall s/page  x bound   CPU s/page  x bound   word recall")
        for name in ("bound", "raw", "engine", "ocrmypdf"):
            if name in best:
                recall = word_recall(texts, outputs[name])
                print(
                    f"{name:9} {best[name]:8.2f} {best[name] / n:12.2f} "
                    f"{best[name] / best['bound']:8.2f} {cpu[name] / n:12.2f} "
                    f"{cpu[name] / cpu['bound']:8.2f}   {recall:.1%}"
                )
        if command is None and not args.no_ocrmypdf:
            print("ocrmypdf: not installed")
        print(
            f"preparation (engine / raw): wall {best['engine'] / best['raw']:.2f} x, "
            f"CPU {cpu['engine'] / cpu['raw']:.2f} x"
        )
        print("turned pages, one at a time (engine):  wall s   CPU s   word recall")
        for label, seconds, used, recall in turned:
            print(f"  {label:36} {seconds:7.2f} {used:7.2f}   {recall:.1%}")


if __name__ == "__main__":
    main()
