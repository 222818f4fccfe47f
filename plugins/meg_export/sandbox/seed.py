"""Demo data of the MEG sandbox: a user, the Classeur OAuth client, dossiers, MEG purchases."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session
from werkzeug.security import generate_password_hash

from .models import (
    Dossier,
    DossierAccess,
    OAuthClient,
    Payment,
    Purchase,
    PurchaseLine,
    Supplier,
    User,
)

if TYPE_CHECKING:
    from flask import Flask

DEMO_EMAIL = "demo@meg.example"
DEMO_PASSWORD = "demo"  # noqa: S105 - documented sandbox credentials
SCOPE = "dossiers:read purchases:write purchases:read"

#: The supplier of the purchases "keyed in MEG" of DEMO01. Its SIREN belongs to it alone: not
#: to a demo company of Classeur (Boulangerie Martin is 732829320, Garage Dupont 552100554)
#: nor to a supplier of the demo and test invoices, so an invoice is never attached to it by
#: mistake — except on purpose, by the supplier-mismatch tests.
MEG_SUPPLIER = {
    "name": "Minoterie du Moulin",
    "siren": "812345676",
    "vat_number": "FR19812345676",
    "country": "france",
}

#: The dossiers every fresh sandbox has (see docs/meg-contract.md).
DEFAULT_DOSSIERS: list[dict[str, Any]] = [
    {"code": "DEMO01", "name": "Boulangerie Martin", "modules": ["achats"], "licence": "premium"},
    {
        "code": "DEMO02",
        "name": "Garage Dupont",
        "modules": ["achats"],
        "licence": "premium",
        "reverse_charge": True,
        "intra_eu": True,
    },
    {"code": "NOACH", "name": "Cabinet Sans Achats", "modules": ["ventes"], "licence": "premium"},
    {"code": "STD01", "name": "Fleuriste Standard", "modules": ["achats"], "licence": "standard"},
]


def _add_dossier(
    db: Session,
    code: str,
    name: str,
    *,
    modules: Iterable[str] = ("achats",),
    licence: str = "premium",
    reverse_charge: bool = False,
    intra_eu: bool = False,
    users: Iterable[str] = (DEMO_EMAIL,),
) -> Dossier:
    dossier = db.scalar(select(Dossier).filter_by(code=code))
    if dossier is None:
        dossier = Dossier(code=code, name=name)
        db.add(dossier)
    dossier.name = name
    dossier.modules = list(modules)
    dossier.licence = licence
    dossier.reverse_charge = reverse_charge
    dossier.intra_eu = intra_eu
    db.flush()
    for email in users:
        user = db.scalar(select(User).filter_by(email=email))
        if user is not None and db.get(DossierAccess, (user.id, dossier.id)) is None:
            db.add(DossierAccess(user_id=user.id, dossier_id=dossier.id))
    return dossier


def seed_dossier(
    app: Flask,
    code: str,
    name: str,
    *,
    modules: Iterable[str] = ("achats",),
    licence: str = "premium",
    reverse_charge: bool = False,
    intra_eu: bool = False,
    users: Iterable[str] = (DEMO_EMAIL,),
) -> dict[str, Any]:
    """Create or update the dossier ``code`` in a sandbox app, accessible to ``users``.

    Lets Classeur's demo add dossiers whose codes match its companies. Returns the dossier
    as the API shows it.
    """
    db = app.extensions["meg_sandbox"].db
    try:
        dossier = _add_dossier(
            db,
            code,
            name,
            modules=modules,
            licence=licence,
            reverse_charge=reverse_charge,
            intra_eu=intra_eu,
            users=users,
        )
        db.commit()
        return dossier.to_dict()
    finally:
        db.remove()


def _seed_meg_purchases(db: Session, dossier: Dossier) -> None:
    """Two purchases keyed in MEG itself, so the source filter has something to filter."""
    supplier = Supplier(dossier_id=dossier.id, **MEG_SUPPLIER)
    db.add(supplier)
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        (
            "MM-2024-101",
            date(2024, 9, 2),
            date(2024, 10, 2),
            "607000",
            "Farine T65",
            "FR_55",
            Decimal("400.00"),
            Decimal("22.00"),
            "paye",
        ),
        (
            "MM-2024-117",
            date(2024, 10, 1),
            date(2024, 10, 31),
            "606300",
            "Petit matériel",
            "FR_200",
            Decimal("150.00"),
            Decimal("30.00"),
            "en_attente",
        ),
    ]
    for number, issued, due, account, label, vat, excl, tax, status in rows:
        purchase = Purchase(
            dossier_id=dossier.id,
            supplier=supplier,
            invoice_number=number,
            invoice_date=issued,
            due_date=due,
            payment_mode="virement",
            currency="EUR",
            total_excl_tax=excl,
            total_tax=tax,
            total_incl_tax=excl + tax,
            vat_regime="national",
            source_platform="MEG",
            created_at=now,
            lines=[
                PurchaseLine(
                    position=0,
                    account=account,
                    label=label,
                    vat_code=vat,
                    amount_excl_tax=excl,
                    vat_amount=tax,
                )
            ],
        )
        purchase.payment = Payment(
            dossier_id=dossier.id,
            due_date=due,
            amount=excl + tax,
            status=status,
            paid_at=due if status == "paye" else None,
        )
        db.add(purchase)


def seed_defaults(
    db: scoped_session[Session],
    *,
    client_id: str,
    client_secret: str,
    redirect_uri_prefixes: list[str],
    extra_dossiers: list[dict[str, Any]],
) -> None:
    """Seed the demo user, the OAuth client and the dossiers; safe to call at every start.

    The OAuth client's secret and redirect URI prefixes follow the config at every start.
    """
    user = db.scalar(select(User).filter_by(email=DEMO_EMAIL))
    first_start = user is None
    if first_start:
        db.add(
            User(
                email=DEMO_EMAIL,
                password_hash=generate_password_hash(DEMO_PASSWORD),
                full_name="Utilisateur de démonstration",
            )
        )
        db.flush()
    client = db.scalar(select(OAuthClient).filter_by(client_id=client_id))
    if client is None:
        client = OAuthClient(client_id=client_id, client_secret=client_secret)
        db.add(client)
    client.client_secret = client_secret
    client.client_name = "Classeur"
    client.redirect_uri_prefixes = list(redirect_uri_prefixes)
    client.scope = SCOPE
    if first_start:
        for spec in DEFAULT_DOSSIERS:
            _add_dossier(db, **spec)
        demo01 = db.scalar(select(Dossier).filter_by(code="DEMO01"))
        if demo01 is not None:
            _seed_meg_purchases(db, demo01)
    for spec in extra_dossiers:
        _add_dossier(db, **spec)
    db.commit()
