"""Extraction benchmark: per-field accuracy by source, seconds per document, account proposals.

Usage::

    .venv/bin/python bench/extraction.py [--size 200] [--corpus bench/out/corpus]
                                         [--max-scans N] [--seed 7]

Builds the labelled corpus (``bench/corpus/generate.py``) when missing, runs ``extract_file``
on every document and on the shared public samples, and prints the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.corpus.generate import generate  # noqa: E402
from plugins.binder_purchases.accounting.model import AccountModel  # noqa: E402
from plugins.binder_purchases.accounting.rules import propose_by_rules  # noqa: E402
from plugins.binder_purchases.extraction import extract_file  # noqa: E402

FIELDS = (
    "invoice_number",
    "invoice_date",
    "due_date",
    "total_excl_tax",
    "total_tax",
    "total_incl_tax",
    "supplier.vat_number",
    "supplier.siren",
    "supplier.iban",
    "currency",
    "payment_mode",
    "vat_regime",
    "document_kind",
    "vat_lines",
)
TARGET_FIELDS = (
    "invoice_number",
    "invoice_date",
    "total_excl_tax",
    "total_tax",
    "total_incl_tax",
    "supplier.vat_number",
    "supplier.siren",
)
KIND_SOURCE = {"text": "text", "scan": "ocr", "einvoice": "einvoice"}
SHARED = ROOT.parent / "shared" / "data" / "invoices"


def get(fields: dict[str, Any], name: str) -> Any:
    """Value of ``name`` (``supplier.x`` for nested) in a fields dict."""
    if name.startswith("supplier."):
        return (fields.get("supplier") or {}).get(name.split(".", 1)[1])
    return fields.get(name)


def run_corpus(corpus: Path, max_scans: int | None) -> list[tuple[dict, dict, float]]:
    """Extract every labelled document; returns (labels, fields, seconds)."""
    results = []
    scans = 0
    for label_path in sorted(corpus.glob("*.json")):
        labels = json.loads(label_path.read_text("utf-8"))
        if labels["kind"] == "scan":
            scans += 1
            if max_scans is not None and scans > max_scans:
                continue
        start = time.perf_counter()
        try:
            fields = extract_file(corpus / labels["file"])
        except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not stop
            fields = {"error": str(exc), "source": KIND_SOURCE[labels["kind"]], "supplier": {}}
        results.append((labels, fields, time.perf_counter() - start))
    return results


def print_accuracy(results: list[tuple[dict, dict, float]]) -> None:
    """Per-field accuracy table by source, plus seconds per document."""
    hits: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    secs: dict[str, list[float]] = defaultdict(list)
    misses: dict[str, list[str]] = defaultdict(list)
    for labels, fields, seconds in results:
        kind = KIND_SOURCE[labels["kind"]]
        secs[kind].append(seconds)
        for name in FIELDS:
            expected = get(labels, name)
            if expected in (None, []):
                continue
            got = get(fields, name)
            ok = got == expected
            cell = hits[kind][name]
            cell[0] += int(ok)
            cell[1] += 1
            if not ok and name in TARGET_FIELDS and len(misses[kind]) < 12:
                misses[kind].append(f"{labels['file']} {name}: expected {expected!r} got {got!r}")
    kinds = [k for k in ("einvoice", "text", "ocr") if k in secs]
    print("| field | " + " | ".join(kinds) + " |")
    print("| --- | " + " | ".join("---:" for _ in kinds) + " |")
    for name in FIELDS:
        row = []
        for k in kinds:
            ok, n = hits[k][name]
            row.append(f"{100 * ok / n:.1f} % ({ok}/{n})" if n else "-")
        print(f"| {name} | " + " | ".join(row) + " |")
    print("| documents | " + " | ".join(str(len(secs[k])) for k in kinds) + " |")
    print(
        "| seconds / document | "
        + " | ".join(f"{sum(secs[k]) / len(secs[k]):.2f}" for k in kinds)
        + " |"
    )
    for k in kinds:
        for line in misses[k]:
            print(f"  miss [{k}] {line}")


def shared_samples() -> None:
    """Read every shared XML sample; compare invoice2data PDFs with their JSON."""
    if not SHARED.is_dir():
        print("shared samples: absent, skipped")
        return
    xml_files = sorted(p for p in (SHARED / "xml").rglob("*") if p.suffix.lower() == ".xml")
    ok = 0
    for path in xml_files:
        try:
            fields = extract_file(path)
            ok += int(fields["source"] == "einvoice" and fields["invoice_number"] is not None)
        except Exception as exc:  # noqa: BLE001
            print(f"  {path.name}: {exc}")
    print(f"shared XML e-invoices read: {ok}/{len(xml_files)}")
    pairs = {
        "invoice_number": "invoice_number",
        "invoice_date": "date",
        "total_incl_tax": "amount",
        "supplier.vat_number": "vat",
    }
    hit, total = 0, 0
    for js in sorted((SHARED / "pdf").rglob("*.json")):
        truth = json.loads(js.read_text("utf-8"))[0]
        fields = extract_file(js.with_suffix(".pdf"))
        got_row = []
        for ours, theirs in pairs.items():
            if theirs not in truth:
                continue
            expected = truth[theirs]
            if theirs == "amount":
                expected = f"{expected:.2f}"
            if theirs == "vat":
                expected = expected.replace(" ", "")
            got = get(fields, ours)
            total += 1
            hit += int(got == str(expected))
            got_row.append(f"{ours}={'ok' if got == str(expected) else repr(got)}")
        print(f"  invoice2data {js.stem}: " + ", ".join(got_row))
    print(f"invoice2data PDFs (text layer): {hit}/{total} fields exact")


def account_proposals(corpus: Path) -> None:
    """Account accuracy from each supplier's 2nd invoice on: memory, model, rules, combined."""
    labels = [json.loads(p.read_text("utf-8")) for p in sorted(corpus.glob("*.json"))]
    memory: dict[str, str] = {}
    history: list[dict[str, Any]] = []
    model = AccountModel()
    counts = defaultdict(lambda: [0, 0])
    for i, lab in enumerate(labels):
        key = lab["supplier"]["vat_number"]
        sample = {
            "supplier_name": lab["supplier"]["name"],
            "text": lab["text"],
            "total_excl_tax": lab["total_excl_tax"],
            "vat_rate": lab["vat_lines"][0]["rate"] if lab["vat_lines"] else None,
        }
        if key in memory:
            truth = lab["account"]
            mem = memory[key]
            pred = model.predict(sample)
            rule = propose_by_rules(lab, lab["text"], allow_class2=True)
            combined = mem or (pred[0] if pred else None) or (rule.account if rule else None)
            for name, value in (
                ("supplier memory", mem),
                ("model", pred[0] if pred else None),
                ("rules", rule.account if rule else None),
                ("memory > model > rules", combined),
            ):
                counts[name][0] += int(value == truth)
                counts[name][1] += 1
        memory[key] = lab["account"]
        history.append({**sample, "account": lab["account"]})
        if i % 10 == 9:
            model.fit(history)
    for name, (ok, n) in counts.items():
        print(f"| {name} | {100 * ok / max(n, 1):.1f} % ({ok}/{n}) |")


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--max-scans", type=int, default=None)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    corpus = args.corpus or ROOT / "bench" / "out" / f"corpus-{args.size}-{args.seed}"
    if len(list(corpus.glob("*.json"))) < args.size:
        print(f"generating {args.size} documents into {corpus} ...")
        generate(corpus, args.size, args.seed)
    results = run_corpus(corpus, args.max_scans)
    print_accuracy(results)
    print()
    shared_samples()
    print()
    print("| account proposal (2nd invoice of a supplier on) | accuracy |")
    print("| --- | ---: |")
    account_proposals(corpus)


if __name__ == "__main__":
    main()
