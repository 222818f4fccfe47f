"""Score the invoice reader on the development corpus of ``bench/corpus/devset.py``.

Usage::

    .venv/bin/python -m bench.corpus.devset --out bench/out/devset --size 80 --seed 3 --scans 10
    .venv/bin/python bench/devset_score.py [bench/out/devset] [--misses] [--kind text|scan]
        [--family NAME] [--json FILE]

Every document of the folder (each ``*.json`` label names its file) is read with
``extract_file(path, use_einvoice=False)``. Printed: the accuracy of each field (all documents,
then born-digital PDFs and scans apart), the key-field accuracy of each layout family, and with
``--misses`` every wrong field (file, family, field, truth, value, confidence).

A field is scored only where its label is not null, except ``due_date``: a null label (no due
date printed) is scored too, right when the reader gives none and wrong when it gives one.
Amounts compare as Decimals, VAT lines as sets of (rate, base, amount) Decimals (a base the
label leaves null, because the invoice does not print it, is not compared), other values as
strings without spaces, case-insensitive.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from plugins.binder_purchases.extraction import extract_file  # noqa: E402

KEY_FIELDS = (
    "invoice_number",
    "invoice_date",
    "total_excl_tax",
    "total_tax",
    "total_incl_tax",
    "supplier.vat_number",
    "supplier.siren",
)
OTHER_FIELDS = (
    "due_date",
    "amount_due",
    "supplier.name",
    "buyer.vat_number",
    "buyer.siren",
    "vat_lines",
)
FIELDS = KEY_FIELDS + OTHER_FIELDS
AMOUNTS = {"total_excl_tax", "total_tax", "total_incl_tax", "amount_due"}


def get(fields: dict[str, Any], name: str) -> Any:
    """Value of ``name`` (``supplier.x`` / ``buyer.x`` for nested fields)."""
    if "." in name:
        head, sub = name.split(".", 1)
        return (fields.get(head) or {}).get(sub)
    return fields.get(name)


def _dec(value: Any) -> Decimal | None:
    try:
        out = Decimal(str(value).replace(" ", "").replace(",", "."))
    except (InvalidOperation, ValueError):
        return None
    return out if out.is_finite() else None


def _norm(value: Any) -> str:
    return "".join(str(value).split()).casefold()


def _vat_set(lines: Any) -> list[tuple[Decimal | None, ...]]:
    out = [
        tuple(
            None if line.get(k) is None else _dec(line.get(k)) for k in ("rate", "base", "amount")
        )
        for line in lines or []
        if isinstance(line, dict)
    ]
    return sorted(out, key=lambda v: (v[0] is None, v[0] or 0))


def same_vat_lines(truth: Any, value: Any) -> bool:
    """Same rates and amounts; a base the label leaves null (not printed) is not compared."""
    want, got = _vat_set(truth), _vat_set(value)
    return len(want) == len(got) and all(
        w[0] == g[0] and w[2] == g[2] and (w[1] is None or w[1] == g[1])
        for w, g in zip(want, got, strict=True)
    )


def empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def scored(name: str, truth: Any) -> bool:
    """Whether a field is scored: its label has a value (a due date is always scored)."""
    return name == "due_date" or not empty(truth)


def same(name: str, truth: Any, value: Any) -> bool:
    """Whether the reader's value matches the label."""
    if empty(truth):  # only due_date gets here: right when no date is read either
        return empty(value)
    if empty(value):
        return False
    if name in AMOUNTS:
        return _dec(truth) is not None and _dec(truth) == _dec(value)
    if name == "vat_lines":
        return same_vat_lines(truth, value)
    return _norm(truth) == _norm(value)


def read(path: Path) -> tuple[dict[str, Any], str | None, float]:
    """The reader's fields for one document (errors recorded, never raised), and seconds."""
    start = time.perf_counter()
    try:
        fields, error = extract_file(path, use_einvoice=False), None
    except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not stop
        fields, error = {}, f"{type(exc).__name__}: {exc}"
    return fields, error, time.perf_counter() - start


def score_folder(
    folder: Path, kind: str | None = None, family: str | None = None, verbose: bool = False
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Scored records (one per document and field) and read errors."""
    records, errors = [], []
    labels = sorted(folder.glob("*.json"))
    for k, label_path in enumerate(labels):
        label = json.loads(label_path.read_text("utf-8"))
        if kind and label.get("kind") != kind or family and label.get("layout") != family:
            continue
        path = folder / label["file"]
        fields, error, seconds = read(path)
        if error:
            errors.append((label["file"], error))
        if verbose:
            print(f"[{k + 1}/{len(labels)}] {label['file']} {seconds:.1f} s", file=sys.stderr)
        conf = fields.get("confidence") or {}
        for name in FIELDS:
            truth = get(label, name)
            if not scored(name, truth):
                continue
            value = get(fields, name)
            records.append(
                {
                    "file": label["file"],
                    "family": label.get("layout", "?"),
                    "kind": label.get("kind", "text"),
                    "field": name,
                    "truth": truth,
                    "value": value,
                    "confidence": conf.get(name),
                    "correct": same(name, truth, value),
                    "seconds": seconds,
                }
            )
    return records, errors


def pct(right: int, total: int) -> str:
    return f"{100 * right / total:5.1f}%" if total else "    - "


def report(records: list[dict[str, Any]], errors: list[tuple[str, str]], misses: bool) -> None:
    """Print the per-field table, the per-family key-field table and the misses."""
    kinds = sorted({r["kind"] for r in records}, key=lambda k: (k != "text", k))
    docs = {(r["file"], r["kind"]) for r in records}
    n_docs = {k: len({f for f, kk in docs if kk == k}) for k in kinds}
    print(
        f"Documents: {len(docs)} ("
        + ", ".join(f"{n_docs[k]} {k}" for k in kinds)
        + f"), read errors: {len(errors)}"
    )
    for file, error in errors:
        print(f"  ERROR {file}: {error}")

    print()
    cols = ["all", *kinds] if len(kinds) > 1 else ["all"]
    head = f"{'field':<22}" + "".join(f"{c:>18}" for c in cols)
    print(head)
    print("-" * len(head))

    def cell(rows: list[dict[str, Any]]) -> str:
        right = sum(r["correct"] for r in rows)
        return f"{right:>4}/{len(rows):<4} {pct(right, len(rows))}"

    def line(label: str, rows: list[dict[str, Any]]) -> str:
        out = f"{label:<22}"
        for c in cols:
            sub = rows if c == "all" else [r for r in rows if r["kind"] == c]
            out += f"{cell(sub):>18}"
        return out

    for name in FIELDS:
        if name == OTHER_FIELDS[0]:
            print(line("KEY FIELDS", [r for r in records if r["field"] in KEY_FIELDS]))
            print()
        print(line(name, [r for r in records if r["field"] == name]))
    print(line("ALL FIELDS", records))

    print()
    head = f"{'family (key fields)':<28}{'docs':>5}{'fields':>16}{'docs all right':>18}"
    print(head)
    print("-" * len(head))
    by_family: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if r["field"] in KEY_FIELDS:
            by_family[r["family"]].append(r)
    for fam in sorted(by_family):
        rows = by_family[fam]
        files: dict[tuple[str, str], bool] = {}
        for r in rows:
            files[(r["file"], r["kind"])] = files.get((r["file"], r["kind"]), True) and r["correct"]
        right = sum(r["correct"] for r in rows)
        perfect = sum(files.values())
        print(
            f"{fam:<28}{len(files):>5}{right:>6}/{len(rows):<4}{pct(right, len(rows))}"
            f"{perfect:>7}/{len(files):<3}{pct(perfect, len(files))}"
        )

    seconds = {(r["file"], r["kind"]): r["seconds"] for r in records}
    for k in kinds:
        times = [s for (f, kk), s in seconds.items() if kk == k]
        if times:
            print(f"\nreading time ({k}): {sum(times) / len(times):.2f} s a document on average")

    if misses:
        print("\nMisses (file, family, field, truth, value, confidence):")
        for r in records:
            if not r["correct"]:
                truth = json.dumps(r["truth"], ensure_ascii=False)
                value = json.dumps(r["value"], ensure_ascii=False)
                conf = "-" if r["confidence"] is None else f"{r['confidence']:.2f}"
                print(f"  {r['file']}  {r['family']}  {r['field']}  {truth}  {value}  {conf}")


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=ROOT / "bench/out/devset")
    parser.add_argument("--misses", action="store_true", help="print every wrong field")
    parser.add_argument("--kind", choices=("text", "scan"), help="only these documents")
    parser.add_argument("--family", help="only this layout family")
    parser.add_argument("--json", type=Path, help="write the scored records to this file")
    parser.add_argument("-v", "--verbose", action="store_true", help="print progress")
    args = parser.parse_args()
    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder: generate it with bench.corpus.devset")
    records, errors = score_folder(args.folder, args.kind, args.family, args.verbose)
    if not records:
        parser.error(f"no labelled document in {args.folder}")
    report(records, errors, args.misses)
    if args.json:
        args.json.write_text(json.dumps(records, ensure_ascii=False, indent=1), "utf-8")


if __name__ == "__main__":
    main()
