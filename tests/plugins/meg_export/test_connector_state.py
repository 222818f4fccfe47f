"""MEG connector state shared by every worker (issue 12): the token in the database, refreshed
exactly once whoever needs it at the same time; the send pace shared through Redis.

Real parts: the MEG sandbox over HTTP on loopback, the test database (SQLite, or PostgreSQL
with CLASSEUR_TEST_DATABASE_URL, where the row is locked with SELECT ... FOR UPDATE), Redis on
127.0.0.1:6379.
"""

from __future__ import annotations

import threading
import uuid

import pytest
import requests
from sqlalchemy import func, or_, select

from core.db import db
from core.exports.registry import ExportContext, ExportError
from plugins.meg_export.exporter import MegExporter
from plugins.meg_export.ratelimit import RateGate, RedisRateGate, make_gate
from tests.plugins.meg_export.meg_helpers import stored_token

REDIS_URL = "redis://127.0.0.1:6379/0"


def _context(app, document) -> ExportContext:
    """What the core's dispatcher hands the exporter for ``document`` (as ``run_export``)."""
    from core.binders.models import Binder
    from core.documents.models import Document
    from core.exports.models import ConnectorSetting
    from core.tenancy.models import Company

    with app.app_context():
        doc = db.session.get(Document, document.id)
        rows = db.session.scalars(
            select(ConnectorSetting).where(
                ConnectorSetting.firm_id == doc.firm_id,
                ConnectorSetting.connector == "meg_export",
                or_(
                    ConnectorSetting.company_id.is_(None),
                    ConnectorSetting.company_id == doc.company_id,
                ),
            )
        ).all()
        settings: dict = {}
        for row in sorted(rows, key=lambda r: r.company_id is not None):
            settings.update(row.settings or {})
        return ExportContext(
            document=doc,
            binder=db.session.get(Binder, doc.binder_id),
            company=db.session.get(Company, doc.company_id),
            settings=settings,
            original_path=app.extensions["classeur"].storage.path(doc.sha256),
            idempotency_key=f"test-{uuid.uuid4().hex}",
            config=app.config,
        )


def _purchases(app, meg) -> list:
    """The company's purchases in MEG, read with its own stored token (the test module's
    token may have been rotated by a test that expired every token)."""
    from plugins.meg_export.client import MegClient

    client = MegClient(
        meg.sandbox.base_url,
        stored_token(app, meg.company),
        client_id="classeur",
        client_secret="classeur-sandbox-secret",
    )
    return client.list_purchases(meg.company.dossier_code, source="Classeur")


def _sandbox_tokens(sandbox) -> int:
    """Tokens the sandbox has issued (each refresh issues one)."""
    from plugins.meg_export.sandbox.models import OAuthToken

    with sandbox.app.app_context():
        session = sandbox.app.extensions["meg_sandbox"].db
        count = session.scalar(select(func.count(OAuthToken.id)))
        session.remove()
        return count


def _export_all_at_once(app, exporters, contexts):
    """Every exporter exports its context in its own thread, released together."""
    barrier = threading.Barrier(len(contexts))
    results: list = [None] * len(contexts)

    def work(index):
        with app.app_context():
            barrier.wait()
            try:
                results[index] = exporters[index].export(contexts[index])
            except Exception as exc:  # reported below with the others
                results[index] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(contexts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.mark.parametrize(
    "processes",
    [False, True],
    ids=["threads-of-one-process", "one-exporter-per-worker-process"],
)
def test_expired_token_is_refreshed_exactly_once_by_concurrent_workers(
    app, meg_for, purchase_fields, sandbox, processes
):
    """Six workers all meet the expired token at once: one refreshes, five adopt its token.

    With one exporter per worker (as in separate Celery processes: no lock shared in memory,
    each on its own database connection) only the database row's lock keeps them apart.
    """
    meg = meg_for("DEMO01")
    before = stored_token(app, meg.company)
    documents = [meg.document(purchase_fields(invoice_number=f"FC-{n}")) for n in range(6)]
    contexts = [_context(app, d) for d in documents]
    shared = MegExporter()
    exporters = [MegExporter() if processes else shared for _ in documents]
    issued = _sandbox_tokens(sandbox)
    requests.post(f"{sandbox.base_url}/_sandbox/expire-tokens", timeout=5).raise_for_status()

    results = _export_all_at_once(app, exporters, contexts)

    failures = [r for r in results if isinstance(r, Exception)]
    assert not failures, [getattr(f, "message", repr(f)) for f in failures]
    assert all(r.remote_id for r in results)
    # Exactly one refresh, across every worker: MEG issued one token and no refresh was
    # refused (a second refresh with the rotated refresh token would have been).
    assert _sandbox_tokens(sandbox) == issued + 1
    assert sum(e.refreshes for e in {id(e): e for e in exporters}.values()) == 1
    after = stored_token(app, meg.company)
    assert after["refresh_token"] != before["refresh_token"]
    partner_ids = sorted(p["partner_id"] for p in _purchases(app, meg))
    assert partner_ids == sorted(str(d.id) for d in documents)


def test_a_worker_with_a_stale_token_adopts_the_stored_one(app, meg_for, purchase_fields, sandbox):
    """A worker that loaded the token before another refreshed it never refreshes again."""
    from plugins.meg_export.client import MegOAuth
    from plugins.meg_export.tokens import TokenStore

    meg = meg_for("DEMO01")
    stale = stored_token(app, meg.company)
    oauth = MegOAuth(sandbox.base_url, "classeur", "classeur-sandbox-secret")
    with app.app_context():
        first = TokenStore(meg.company.firm_id, meg.company.id)
        fresh = first.refresh(stale, oauth.refresh)
        second = TokenStore(meg.company.firm_id, meg.company.id)
        adopted = second.refresh(stale, oauth.refresh)
    assert (first.refreshes, second.refreshes) == (1, 0)
    assert adopted == fresh == stored_token(app, meg.company)


def test_tokens_in_connector_settings_move_to_their_table(app_config, tmp_path):
    """Migration 0001_meg_export: a token stored the old way is moved, still encrypted, and the
    rest of the link stays in the settings; downgrading puts it back."""
    from sqlalchemy import create_engine, text

    from core.app import create_app
    from core.crypto import decrypt_json, encrypt_json
    from core.migrate import alembic_config, upgrade

    if not app_config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("the migration path is checked on a fresh SQLite file")
    url = f"sqlite:///{tmp_path / 'old.db'}"
    application = create_app({**app_config, "DATABASE_URL": url})
    upgrade(application, "0004_export_batches")
    with application.app_context():
        secret = encrypt_json({"access_token": "a-1", "refresh_token": "r-1"})
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO firms (id, name, created_at) VALUES (1, 'C', '2026-01-01')"))
        conn.execute(
            text(
                "INSERT INTO companies (id, firm_id, name, dossier_code, settings, created_at, "
                "updated_at) VALUES (7, 1, 'E', 'DEMO01', '{}', '2026-01-01', '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO connector_settings (id, firm_id, company_id, connector, enabled, "
                "settings, created_at, updated_at) VALUES (3, 1, 7, 'meg_export', 1, :s, "
                "'2026-01-01', '2026-01-01')"
            ),
            {"s": f'{{"dossier_code": "DEMO01", "token": "{secret}"}}'},
        )
    upgrade(application)
    with engine.connect() as conn:
        settings = conn.execute(text("SELECT settings FROM plugin_settings WHERE id = 3")).scalar()
        raw = conn.execute(
            text("SELECT token FROM meg_export_tokens WHERE company_id = 7")
        ).scalar()
    assert '"token"' not in settings and "DEMO01" in settings
    assert raw == secret
    with application.app_context():
        assert decrypt_json(raw)["refresh_token"] == "r-1"
    from alembic import command

    command.downgrade(alembic_config(application), "meg_export@base")
    with engine.connect() as conn:
        settings = conn.execute(text("SELECT settings FROM plugin_settings WHERE id = 3")).scalar()
    assert secret in settings
    engine.dispose()
    db.engine_for(application).dispose()


# --- the send pace shared through Redis ------------------------------------------------------


@pytest.fixture
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not running on 127.0.0.1:6379 ({exc}): shared rate gate untested")
    return REDIS_URL


def test_two_redis_gates_share_one_budget(redis_url):
    """Two gates (two worker processes) on the same Redis: a 429 met by one holds the link
    for the other, and send slots are handed out in one order across both."""
    prefix = f"classeur-test-{uuid.uuid4().hex}"
    first, second = RedisRateGate(redis_url, prefix), RedisRateGate(redis_url, prefix)
    key, other = (1, 2, "t"), (1, 3, "t")
    assert first.remaining(key) == 0 and second.reserve(key) == 0  # free until MEG refuses
    first.block(key, 2.0)
    assert 1.5 < second.remaining(key) <= 2.0
    assert second.remaining(other) == 0  # another link is not held
    wait_second = second.reserve(key)
    wait_first = first.reserve(key)
    assert 1.5 < wait_second <= 2.0
    # The next slot comes after the other process's one, one interval later.
    assert wait_first - wait_second == pytest.approx(RedisRateGate.FIRST_INTERVAL, abs=0.01)
    assert first.hits == second.hits == 1
    second.success(key)
    # An in-process gate shares nothing: the embedded default.
    assert RateGate().remaining(key) == 0


def test_make_gate_uses_redis_in_scale_out_only(redis_url):
    assert isinstance(make_gate({}), RateGate)
    assert isinstance(make_gate({"BROKER_URL": redis_url, "INSTALL_ID": "x"}), RedisRateGate)
    assert isinstance(make_gate({"MEG_RATE_STORAGE_URL": "memory://"}), RateGate)
    gate = make_gate({"MEG_RATE_STORAGE_URL": redis_url, "INSTALL_ID": "y"})
    assert isinstance(gate, RedisRateGate) and gate.url == redis_url


def test_a_429_met_by_one_worker_process_holds_the_others(
    app, meg_for, purchase_fields, sandbox, redis_url
):
    """Exporter A meets MEG's 429 (Retry-After 3 s): exporter B — another worker process,
    sharing only Redis — waits too instead of sending, and says when to come back."""
    app.config["MEG_RATE_STORAGE_URL"] = redis_url
    app.config["MEG_MAX_INLINE_WAIT"] = 0.5
    meg = meg_for("DEMO01")
    documents = [meg.document(purchase_fields(invoice_number=f"RL-{n}")) for n in range(2)]
    sandbox.faults(status_429_next=1, retry_after=3)
    first, second = MegExporter(), MegExporter()
    with app.app_context():
        with pytest.raises(ExportError) as refused:
            first.export(_context(app, documents[0]))
        assert refused.value.code == "rate_limited" or refused.value.retry_after
        with pytest.raises(ExportError) as held:
            second.export(_context(app, documents[1]))
    assert held.value.code == "rate_limited" and held.value.transient
    assert held.value.retry_after >= 2
    assert isinstance(second.gate, RedisRateGate)
    assert _purchases(app, meg) == []  # B sent nothing while the link was held
