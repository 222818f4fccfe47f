"""A small text classifier proposing a PCG account from past validated invoices."""

from __future__ import annotations

import warnings
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import joblib
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline


def _rate_bucket(rate: Any) -> str:
    try:
        value = Decimal(str(rate))
    except (InvalidOperation, ValueError):
        return "vatnone"
    return "vat" + str(value.normalize()).replace(".", "_")


def _amount_bucket(amount: Any) -> str:
    try:
        value = abs(Decimal(str(amount)))
    except (InvalidOperation, ValueError):
        return "amtnone"
    for limit, name in ((50, "xs"), (200, "s"), (500, "m"), (2000, "l")):
        if value < limit:
            return "amt" + name
    return "amtxl"


def sample_document(sample: dict[str, Any]) -> str:
    """The text the classifier sees: supplier tokens, words, VAT-rate and amount buckets."""
    supplier = str(sample.get("supplier_name") or "")
    supplier_tokens = " ".join("sup_" + w.lower() for w in supplier.split())
    return " ".join(
        [
            supplier_tokens,
            supplier,
            str(sample.get("text") or "")[:5000],
            _rate_bucket(sample.get("vat_rate")),
            _amount_bucket(sample.get("total_excl_tax")),
        ]
    )


class AccountModel:
    """TF-IDF + logistic regression over past samples ``{supplier_name, text,
    total_excl_tax, vat_rate, account}``; untrained (predict -> None) with fewer than 2 classes.
    """

    def __init__(self) -> None:
        self.pipeline: Pipeline | None = None

    @property
    def trained(self) -> bool:
        """Whether ``fit`` saw at least two accounts."""
        return self.pipeline is not None

    def fit(self, samples: list[dict[str, Any]]) -> AccountModel:
        """Train on validated samples; stays untrained when they hold fewer than 2 accounts."""
        samples = [s for s in samples if s.get("account")]
        labels = [str(s["account"]) for s in samples]
        if len(set(labels)) < 2:
            self.pipeline = None
            return self
        pipeline = Pipeline(
            [
                (
                    "tfidf",
                    TfidfVectorizer(
                        sublinear_tf=True,
                        strip_accents="unicode",
                        lowercase=True,
                        min_df=1,
                        ngram_range=(1, 2),
                        max_features=50_000,
                    ),
                ),
                ("clf", LogisticRegression(max_iter=1000, C=10.0)),
            ]
        )
        with warnings.catch_warnings():
            # Few samples per account early on: scikit-learn says so on stderr; it is expected.
            warnings.simplefilter("ignore", UserWarning)
            pipeline.fit([sample_document(s) for s in samples], labels)
        self.pipeline = pipeline
        return self

    def predict(self, sample: dict[str, Any]) -> tuple[str, float] | None:
        """(account, probability) for one sample, or None when the model is not trained."""
        if self.pipeline is None:
            return None
        probabilities = self.pipeline.predict_proba([sample_document(sample)])[0]
        best = int(probabilities.argmax())
        return str(self.pipeline.classes_[best]), float(probabilities[best])

    def save(self, path: str | Path) -> None:
        """Write the model with joblib."""
        joblib.dump({"version": 1, "pipeline": self.pipeline}, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> AccountModel:
        """Read a model written by :meth:`save` (trusted files only: joblib is pickle)."""
        data = joblib.load(Path(path))
        model = cls()
        model.pipeline = data.get("pipeline") if isinstance(data, dict) else None
        return model
