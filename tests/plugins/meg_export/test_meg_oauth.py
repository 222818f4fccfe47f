"""OAuth2 code + PKCE flow, refresh, revocation, dossier listing against a real sandbox."""

from __future__ import annotations

import requests

from plugins.meg_export.client import MegApiError, MegClient, MegOAuth

CLIENT_ID = "classeur"
CLIENT_SECRET = "classeur-sandbox-secret"
REDIRECT_URI = "http://127.0.0.1:5000/meg/callback"


def test_full_code_pkce_flow_yields_refreshable_bearer_token(sandbox, authorize):
    token, _ = authorize(sandbox.base_url)
    assert token["token_type"].lower() == "bearer"
    assert token["refresh_token"]
    assert set(token["scope"].split()) == {"dossiers:read", "purchases:write", "purchases:read"}
    response = requests.get(
        f"{sandbox.base_url}/api/v1/dossiers",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=5,
    )
    assert response.status_code == 200


def test_authorize_without_pkce_is_refused(sandbox):
    browser = requests.Session()
    browser.post(
        f"{sandbox.base_url}/login",
        data={"email": "demo@meg.example", "password": "demo"},
        timeout=5,
    )
    page = browser.get(
        f"{sandbox.base_url}/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "scope": "dossiers:read",
            "state": "xyz",
        },
        timeout=5,
    )
    assert page.status_code == 400
    assert "code_challenge" in page.text


def test_foreign_redirect_uri_is_refused(sandbox):
    oauth = MegOAuth(sandbox.base_url, CLIENT_ID, CLIENT_SECRET, "http://127.0.0.1.evil.example/cb")
    url, _, _ = oauth.authorization_url()
    browser = requests.Session()
    browser.post(
        f"{sandbox.base_url}/login",
        data={"email": "demo@meg.example", "password": "demo"},
        timeout=5,
    )
    page = browser.get(url, timeout=5, allow_redirects=False)
    assert page.status_code == 400


def test_wrong_password_shows_french_error(sandbox):
    page = requests.post(
        f"{sandbox.base_url}/login",
        data={"email": "demo@meg.example", "password": "nope"},
        timeout=5,
    )
    assert page.status_code == 401
    assert "Identifiant ou mot de passe incorrect" in page.text


def test_denied_consent_gives_access_denied_error(sandbox):
    oauth = MegOAuth(sandbox.base_url, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    url, state, verifier = oauth.authorization_url()
    browser = requests.Session()
    browser.post(
        f"{sandbox.base_url}/login",
        data={"email": "demo@meg.example", "password": "demo"},
        timeout=5,
    )
    answer = browser.post(url, data={"decision": "deny"}, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    assert "error=access_denied" in answer.headers["Location"]
    try:
        oauth.exchange_code(
            code_verifier=verifier, authorization_response=answer.headers["Location"], state=state
        )
    except MegApiError as error:
        assert error.code == "access_denied"
        assert not error.transient
    else:
        raise AssertionError("a denied consent must not give a token")


def test_dossier_listing_has_modules_licence_and_capabilities(client):
    dossiers = {d["code"]: d for d in client.list_dossiers()}
    assert set(dossiers) == {"DEMO01", "DEMO02", "NOACH", "STD01"}
    assert dossiers["DEMO01"]["name"] == "Boulangerie Martin"
    assert dossiers["DEMO01"]["modules"] == ["achats"]
    assert dossiers["DEMO01"]["licence"] == "premium"
    assert dossiers["DEMO01"]["capabilities"] == {"reverse_charge": False, "intra_eu": False}
    assert dossiers["DEMO02"]["capabilities"] == {"reverse_charge": True, "intra_eu": True}
    assert "achats" not in dossiers["NOACH"]["modules"]
    assert dossiers["STD01"]["licence"] == "standard"


def test_token_is_limited_to_the_consented_dossiers(sandbox, authorize):
    token, _ = authorize(sandbox.base_url, ["DEMO02"])
    client = MegClient(sandbox.base_url, token, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert [d["code"] for d in client.list_dossiers()] == ["DEMO02"]
    try:
        client.list_purchases("DEMO01")
    except MegApiError as error:
        assert error.status == 404
        assert error.code == "dossier_not_found"
    else:
        raise AssertionError("DEMO01 was not consented to")


def test_expired_token_is_refreshed_once_and_callback_gets_new_token(sandbox, authorize):
    token, _ = authorize(sandbox.base_url)
    refreshed: list[dict] = []
    client = MegClient(
        sandbox.base_url,
        {k: v for k, v in token.items() if k != "expires_at"},
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        on_token_refreshed=refreshed.append,
    )
    requests.post(f"{sandbox.base_url}/_sandbox/expire-tokens", timeout=5).raise_for_status()
    old = requests.get(
        f"{sandbox.base_url}/api/v1/dossiers",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=5,
    )
    assert old.status_code == 401
    assert old.json()["error"]["code"] == "invalid_token"

    assert len(client.list_dossiers()) == 4
    assert len(refreshed) == 1
    assert refreshed[0]["access_token"] != token["access_token"]
    assert refreshed[0]["refresh_token"] != token["refresh_token"]  # rotated
    assert client.token == refreshed[0]
    # The old refresh token was revoked by the rotation.
    try:
        MegOAuth(sandbox.base_url, CLIENT_ID, CLIENT_SECRET).refresh(token["refresh_token"])
    except MegApiError as error:
        assert error.code == "invalid_grant"
    else:
        raise AssertionError("a rotated refresh token must not work twice")


def test_token_lifetime_is_configurable(tmp_path, authorize):
    import threading
    import time

    from werkzeug.serving import make_server

    from plugins.meg_export.sandbox import create_sandbox_app

    app = create_sandbox_app({"SANDBOX_DATA_DIR": str(tmp_path), "SANDBOX_TOKEN_EXPIRES_IN": 3})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base_url = f"http://127.0.0.1:{server.server_port}"
        token, _ = authorize(base_url)
        assert token["expires_in"] == 3
        time.sleep(3.2)  # a refreshed token lives 3 s too: room for a loaded machine
        refreshed: list[dict] = []
        client = MegClient(
            base_url,
            {k: v for k, v in token.items() if k != "expires_at"},
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            on_token_refreshed=refreshed.append,
        )
        assert len(client.list_dossiers()) == 4
        assert len(refreshed) == 1
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_revoked_token_is_refused(sandbox, authorize):
    token, oauth = authorize(sandbox.base_url)
    oauth.revoke(token["refresh_token"])
    response = requests.get(
        f"{sandbox.base_url}/api/v1/dossiers",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=5,
    )
    assert response.status_code == 401
    client = MegClient(sandbox.base_url, token, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    try:
        client.list_dossiers()
    except MegApiError as error:
        assert error.code == "invalid_grant"
        assert not error.transient
    else:
        raise AssertionError("a revoked account must not work")
