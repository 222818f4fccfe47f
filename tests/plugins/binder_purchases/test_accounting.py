"""Accounting helpers: PCG seed, VAT codes, keyword rules, learned model, supplier matching."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import pytest

from plugins.binder_purchases.accounting.model import AccountModel
from plugins.binder_purchases.accounting.pcg import SEED_ACCOUNTS
from plugins.binder_purchases.accounting.rules import Proposal, propose_by_rules
from plugins.binder_purchases.accounting.suppliers import match_supplier
from plugins.binder_purchases.accounting.vat import VAT_CODES, vat_code_for
from plugins.binder_purchases.extraction.fields import empty_fields


def test_seed_accounts() -> None:
    numbers = {n for n, _ in SEED_ACCOUNTS}
    for required in (
        "2183",
        "2154",
        "2182",
        "205",
        "6061",
        "6063",
        "6064",
        "6068",
        "611",
        "613",
        "6132",
        "6135",
        "6152",
        "6156",
        "616",
        "6181",
        "6226",
        "6227",
        "6231",
        "6251",
        "6256",
        "6257",
        "626",
        "6262",
        "627",
        "6281",
        "401",
        "404",
        "44566",
        "44562",
    ):
        assert required in numbers
    assert dict(SEED_ACCOUNTS)["2183"] == "Matériel de bureau et matériel informatique"
    assert len(numbers) == len(SEED_ACCOUNTS)


@pytest.mark.parametrize(
    ("rate", "regime", "code"),
    [
        ("20", "standard", "FR_200"),
        (Decimal("10.00"), "standard", "FR_100"),
        ("5.5", "standard", "FR_55"),
        ("2.10", "standard", "FR_21"),
        ("8.5", "standard", "FR_85"),
        ("13", "standard", "FR_13"),
        ("0.9", "standard", "FR_09"),
        ("1.75", "standard", "FR_175"),
        ("1.05", "standard", "FR_105"),
        ("0", "standard", "FR_0"),
        ("20", "reverse_charge", "AE"),
        ("0", "intra_eu", "INTRA"),
        ("0", "exempt", "FR_0"),
    ],
)
def test_vat_code_for(rate: str, regime: str, code: str) -> None:
    assert vat_code_for(rate, regime) == code
    assert code in VAT_CODES


def test_vat_code_for_unknown_rate() -> None:
    with pytest.raises(ValueError, match="inconnu"):
        vat_code_for("19", "standard")


def fields(name: str, ht: str = "1200.00", rate: str = "20.00") -> dict:
    f = empty_fields("text")
    f["supplier"]["name"] = name
    f["total_excl_tax"] = ht
    f["vat_lines"] = [{"rate": rate, "base": ht, "amount": "0"}]
    return f


def test_rules_computer_class2_or_expense() -> None:
    p = propose_by_rules(fields("Boulanger Pro"), "Ordinateur portable Dell", allow_class2=True)
    assert p == Proposal("2183", "FR_200", "règle : ordinateur", p.confidence, "ordinateur")
    p = propose_by_rules(fields("Boulanger Pro"), "Ordinateur portable", allow_class2=False)
    assert p is not None and p.account == "6063"


@pytest.mark.parametrize(
    ("text", "account"),
    [
        ("Consommation électricité EDF", "6061"),
        ("Loyer du mois de mars", "6132"),
        ("Abonnement fibre internet", "626"),
        ("Honoraires expert-comptable", "6226"),
        ("Carburant gazole", "6061"),
        ("Nuitée hôtel Ibis", "6256"),
        ("Repas restaurant", "6257"),
        ("Prime assurance multirisque", "616"),
        ("Frais de livraison", "6241"),
    ],
)
def test_rules_keywords(text: str, account: str) -> None:
    p = propose_by_rules(fields("Fournisseur"), text, allow_class2=True)
    assert p is not None
    assert p.account == account
    assert p.reason.startswith("règle : ")


def test_rules_no_match() -> None:
    assert propose_by_rules(fields("Zyx"), "Quelque chose d'inédit", allow_class2=True) is None


def samples(n: int, seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    kinds = [
        ("EDF Entreprises", "électricité consommation kWh", "20.00", "6061"),
        ("Orange Business", "forfait mobile fibre", "20.00", "626"),
        ("Hôtel du Centre", "nuitée chambre petit déjeuner", "10.00", "6256"),
        ("Cabinet Durand", "honoraires mission conseil", "20.00", "6226"),
    ]
    out = []
    for _ in range(n):
        name, words, rate, account = rng.choice(kinds)
        out.append(
            {
                "supplier_name": name,
                "text": " ".join(rng.sample(words.split(), 2)),
                "total_excl_tax": str(rng.randint(20, 900)),
                "vat_rate": rate,
                "account": account,
            }
        )
    return out


def test_model_learns_and_round_trips(tmp_path: Path) -> None:
    train, test = samples(60), samples(20, seed=9)
    model = AccountModel().fit(train)
    assert model.trained
    correct = sum(model.predict(s)[0] == s["account"] for s in test)
    assert correct >= 18
    account, probability = model.predict(test[0])
    assert 0 < probability <= 1
    model.save(tmp_path / "model.joblib")
    again = AccountModel.load(tmp_path / "model.joblib")
    assert again.predict(test[0]) == (account, probability)


def test_model_untrained_with_one_class() -> None:
    model = AccountModel().fit([s | {"account": "6061"} for s in samples(5)])
    assert not model.trained
    assert model.predict(samples(1)[0]) is None
    assert AccountModel().fit([]).predict(samples(1)[0]) is None


SUPPLIERS = [
    {
        "id": 1,
        "name": "ACME Informatique SAS",
        "siren": "732829320",
        "vat_number": "FR44732829320",
        "iban": None,
    },
    {
        "id": 2,
        "name": "Lieferant GmbH",
        "siren": None,
        "vat_number": "DE812345673",
        "iban": "DE08 7009 0100 1234 5678 90",
    },
    {"id": 3, "name": "Boulangerie Martin", "siren": None, "vat_number": None, "iban": None},
]


def test_match_supplier_by_each_method() -> None:
    f = empty_fields("text")
    f["supplier"] = {
        "name": None,
        "siren": None,
        "siret": "73282932000074",
        "vat_number": None,
        "iban": None,
        "country": None,
    }
    assert match_supplier(f, SUPPLIERS) == (SUPPLIERS[0], "siren")
    f["supplier"] = f["supplier"] | {"siret": None, "vat_number": "de 812 345 673"}
    assert match_supplier(f, SUPPLIERS) == (SUPPLIERS[1], "vat_number")
    f["supplier"] = f["supplier"] | {"vat_number": None, "iban": "DE08700901001234567890"}
    assert match_supplier(f, SUPPLIERS) == (SUPPLIERS[1], "iban")
    f["supplier"] = f["supplier"] | {"iban": None, "name": "Martin Boulangerie"}
    assert match_supplier(f, SUPPLIERS) == (SUPPLIERS[2], "name")
    f["supplier"] = f["supplier"] | {"name": "Boucherie Martinez"}
    assert match_supplier(f, SUPPLIERS) == (None, "none")


def test_match_supplier_never_crosses_a_different_identifier() -> None:
    """Two companies with close names, or sharing a factoring company's IBAN, are not the
    same supplier when their SIRENs (or VAT numbers) differ."""
    known = [
        {
            "id": 1,
            "name": "Durand Services SARL",
            "siren": "732829320",
            "vat_number": None,
            "iban": "FR7630006000011234567890189",
        },
    ]
    f = empty_fields("text")
    f["supplier"] = {
        "name": "Durand Services SAS",
        "siren": "552100554",
        "siret": None,
        "vat_number": None,
        "iban": "FR76 3000 6000 0112 3456 7890 189",
        "country": None,
    }
    assert match_supplier(f, known) == (None, "none")
    f["supplier"] = f["supplier"] | {"siren": None}  # nothing says otherwise: same name
    assert match_supplier(f, known)[0] == known[0]
