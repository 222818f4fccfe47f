"""Fault injection and rate limiting over real HTTP, seen through the client's errors."""

from __future__ import annotations

import time

import pytest
import requests

from plugins.meg_export.client import MegApiError, MegClient


def test_injected_429_gives_transient_error_with_retry_after(client, sandbox):
    sandbox.faults(status_429_next=1, retry_after=7)
    with pytest.raises(MegApiError) as info:
        client.list_dossiers()
    error = info.value
    assert error.status == 429
    assert error.transient
    assert error.retry_after == 7.0
    assert error.code == "rate_limited"
    assert len(client.list_dossiers()) == 4  # only the next request was refused


def test_rate_limit_per_token_answers_429_with_retry_after(client, sandbox):
    sandbox.faults(rate_limit_per_second=2)
    errors = []
    for _ in range(6):
        try:
            client.list_dossiers()
        except MegApiError as error:
            errors.append(error)
    assert errors, "6 quick requests must exceed 2 per second"
    assert all(e.status == 429 and e.transient for e in errors)
    assert all(e.retry_after is not None and e.retry_after >= 0 for e in errors)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_injected_5xx_is_transient(client, sandbox, status):
    sandbox.faults(error_5xx_next=1, error_5xx_status=status)
    with pytest.raises(MegApiError) as info:
        client.list_purchases("DEMO01")
    assert info.value.status == status
    assert info.value.transient
    assert info.value.retry_after is None


def test_5xx_rate_one_refuses_every_request(client, sandbox):
    sandbox.faults(error_5xx_rate=1.0)
    for _ in range(3):
        with pytest.raises(MegApiError) as info:
            client.supervision("DEMO01")
        assert info.value.transient


def test_timeout_is_transient_and_idempotency_key_protects_the_retry(
    client, sandbox, token, pdf_bytes, make_purchase
):
    sandbox.faults(timeout_next=1, timeout_seconds=1.5)
    impatient = MegClient(
        sandbox.base_url,
        client.token,
        client_id="classeur",
        client_secret="classeur-sandbox-secret",
        timeout=0.5,
    )
    with pytest.raises(MegApiError) as info:
        impatient.create_purchase("DEMO01", make_purchase(), pdf_bytes, "f.pdf", "k-timeout")
    assert info.value.code == "timeout"
    assert info.value.transient
    time.sleep(1.5)  # the server finishes the slow request and stores it
    retried = client.create_purchase("DEMO01", make_purchase(), pdf_bytes, "f.pdf", "k-timeout")
    assert [p["id"] for p in client.list_purchases("DEMO01", source="Classeur")] == [retried["id"]]


def test_connection_refused_is_transient(token):
    client = MegClient(
        "http://127.0.0.1:9", token, client_id="classeur", client_secret="x", timeout=1
    )
    with pytest.raises(MegApiError) as info:
        client.list_dossiers()
    assert info.value.code == "connection_error"
    assert info.value.transient


def test_latency_injection_delays_answers(client, sandbox):
    sandbox.faults(latency_ms=300)
    started = time.monotonic()
    client.list_dossiers()
    slow = time.monotonic() - started
    sandbox.faults(latency_ms=0)
    assert slow >= 0.3  # a lower bound the sleep guarantees, not a performance assertion
    assert sandbox.faults()["latency_ms"] == 0


def test_faults_are_readable_and_validated(sandbox):
    base = sandbox.base_url
    assert (
        requests.get(f"{base}/_sandbox/faults", timeout=5).json()["rate_limit_per_second"] == 1000
    )
    bad = requests.post(f"{base}/_sandbox/faults", json={"latency_ms": -1}, timeout=5)
    assert bad.status_code == 422
    assert "latency_ms" in bad.json()["error"]["message"]
    unknown = requests.post(f"{base}/_sandbox/faults", json={"boom": 1}, timeout=5)
    assert unknown.status_code == 422


def test_faults_from_config(tmp_path, serve_sandbox):
    with serve_sandbox(
        {"SANDBOX_DATA_DIR": str(tmp_path), "SANDBOX_FAULTS": {"error_5xx_next": 2}}
    ) as running:
        assert (
            requests.get(f"{running.base_url}/_sandbox/faults", timeout=5).json()["error_5xx_next"]
            == 2
        )
        response = requests.get(f"{running.base_url}/api/v1/dossiers", timeout=5)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "service_unavailable"
