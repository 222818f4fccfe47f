"""The daily digest when due: not before ``DIGEST_HOUR`` (the firm's time zone), once per day
for a user whose setting is daily, a day tried while empty tried again later that day (the
trial's digest that never came), and ``classeur notifications digest [--user] [--force]``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from core.db import db, utcnow
from core.notifications.models import NotificationDigest
from tests.mail_fixtures import mail_outbox_fixture  # noqa: F401


@pytest.fixture
def app(app_config: dict[str, Any]) -> Any:
    from core.app import create_app

    application = create_app({**app_config, "PUBLIC_URL": "http://classeur.test"})
    yield application
    application.extensions["classeur"].tasks.stop()
    db.engine_for(application).dispose()


def _daily(app: Any, user: Any) -> None:
    from core.auth.models import User

    with app.app_context():
        row = db.session.get(User, user.id)
        row.notification_settings = {"export_error": "daily", "to_review": "off"}
        db.session.commit()


def _notify(app: Any, user: Any, firm_id: int, title: str) -> None:
    from core.notifications.services import notify

    with app.test_request_context():
        notify([user.id], firm_id, kind="export_error", title=title, link="/documents/1")
        db.session.commit()


def _run_poll(app: Any, now: datetime, user_id: int) -> list[str | None]:
    """The poll at ``now``, then the user's tasks it found run."""
    from core.notifications.services import _poll_digests, run_digest

    with app.app_context():
        return [run_digest(*args) for args in _poll_digests(now) if args[0] == user_id]


def _age_claims(app: Any, minutes: int) -> None:
    with app.app_context():
        db.session.execute(
            update(NotificationDigest).values(created_at=utcnow() - timedelta(minutes=minutes))
        )
        db.session.commit()


def test_daily_user_gets_one_digest_a_day_once_the_hour_has_come(
    app: Any, world: dict[str, Any], mail_outbox: Any
) -> None:
    from core.notifications.services import digest_day

    a = world["a"]
    accountant = a["accountant"]
    _daily(app, accountant)
    app.config["DIGEST_HOUR"] = 9
    # 07:30 UTC is 08:30 in Paris: not yet, nothing claimed, nothing sent.
    with app.app_context():
        assert digest_day(datetime(2026, 12, 2, 7, 30, tzinfo=UTC)) is None
    _notify(app, accountant, a["firm"].id, "Zinc en erreur")
    assert _run_poll(app, datetime(2026, 12, 2, 7, 30, tzinfo=UTC), accountant.id) == []
    assert mail_outbox.deliver() == []
    # The hour come in the firm's zone (09:00 UTC would be 10:00 there; UTC 08:05 is 09:05).
    app.config["DIGEST_HOUR"] = 0  # the test's "now" must also be the claims' real now
    assert _run_poll(app, utcnow(), accountant.id) == ["sent"]
    [message] = mail_outbox.deliver()
    assert message["To"] == accountant.email
    assert "Zinc en erreur" in mail_outbox.text(message)
    # Later the same day: another notification waits for tomorrow's digest.
    _notify(app, accountant, a["firm"].id, "Plomb en erreur")
    _age_claims(app, 60)
    assert _run_poll(app, utcnow(), accountant.id) == []
    assert len(mail_outbox.deliver()) == 1  # the morning's only (deliver lists them all)


def test_an_empty_run_does_not_mark_the_day_done(
    app: Any, world: dict[str, Any], mail_outbox: Any
) -> None:
    """The trial: the digest ran (nothing to tell) before the setting or the notification;
    it is tried again later that day and then goes out."""
    a = world["a"]
    accountant = a["accountant"]
    app.config["DIGEST_HOUR"] = 0
    _daily(app, accountant)
    assert _run_poll(app, utcnow(), accountant.id) == ["empty"]
    _notify(app, accountant, a["firm"].id, "Zinc en erreur")
    # Not at once (an empty user is not polled every few seconds)...
    assert _run_poll(app, utcnow(), accountant.id) == []
    # ...but a few minutes later it goes out, once.
    _age_claims(app, 11)
    assert _run_poll(app, utcnow(), accountant.id) == ["sent"]
    [message] = mail_outbox.deliver()
    assert "Zinc en erreur" in mail_outbox.text(message)
    _age_claims(app, 11)
    assert _run_poll(app, utcnow(), accountant.id) == []
    assert len(mail_outbox.deliver()) == 1
    with app.app_context():
        [claim] = db.session.scalars(select(NotificationDigest)).all()
        assert claim.mail_id is not None


def _cli(app_config: dict[str, Any], monkeypatch: Any, *args: str, **config: Any) -> Any:
    from click.testing import CliRunner

    import core.app
    from core.cli import main

    real_create_app = core.app.create_app
    apps: list[Any] = []

    def create_app(overrides: dict[str, Any] | None = None) -> Any:
        application = real_create_app({**app_config, **config, **(overrides or {})})
        apps.append(application)
        return application

    monkeypatch.setattr(core.app, "create_app", create_app)
    monkeypatch.delenv("CLASSEUR_PUBLIC_URL", raising=False)
    try:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        for application in apps:
            db.engine_for(application).dispose()


def test_digest_command_sends_now_with_force(
    app: Any, app_config: dict[str, Any], world: dict[str, Any], mail_outbox: Any, monkeypatch: Any
) -> None:
    a = world["a"]
    accountant = a["accountant"]
    _daily(app, accountant)
    _notify(app, accountant, a["firm"].id, "Zinc en erreur")
    # The hour not come yet (24 never comes): refused without --force.
    refused = _cli(
        app_config,
        monkeypatch,
        "notifications",
        "digest",
        "--user",
        accountant.email,
        DIGEST_HOUR=24,
    )
    assert refused.exit_code == 1 and "--force" in refused.output
    result = _cli(
        app_config,
        monkeypatch,
        "notifications",
        "digest",
        "--user",
        accountant.email,
        "--force",
        DIGEST_HOUR=24,
    )
    assert result.exit_code == 0, result.output
    assert "1 sent" in result.output
    # No CLASSEUR_PUBLIC_URL: the command says its links point at 127.0.0.1.
    assert "CLASSEUR_PUBLIC_URL" in result.output
    [message] = mail_outbox.deliver()
    assert message["To"] == accountant.email and "Zinc en erreur" in mail_outbox.text(message)
    with app.app_context():
        [claim] = db.session.scalars(select(NotificationDigest)).all()
        assert claim.user_id == accountant.id and claim.mail_id is not None
