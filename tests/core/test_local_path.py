"""Pages send the user back only to a path of this site."""

from __future__ import annotations

import pytest

from core.web.urls import local_path


@pytest.mark.parametrize(
    "target",
    [
        "",
        None,
        "https://evil.example/x",
        "//evil.example/x",
        "/\\evil.example",
        "evil",
        "javascript:alert(1)",
    ],
)
def test_anything_but_a_local_path_gives_the_fallback(target):
    assert local_path(target, "/home") == "/home"


def test_a_local_path_is_kept():
    assert local_path("/binders/3?state=to_review", "/home") == "/binders/3?state=to_review"


def test_login_refuses_a_backslash_redirect(client, factory):
    user = factory.user(factory.firm())
    answer = client.post(
        "/login?next=/%5Cevil.example", data={"email": user.email, "password": user.password}
    )
    assert answer.headers["Location"] == "/"
