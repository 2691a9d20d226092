"""The serialized provider stored in every resource's state: a class reference, nothing else."""

from __future__ import annotations

import base64
import pickle
import pickletools

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from pulumi_tiktok_audiences.provider import AppActivity
from pulumi_tiktok_audiences.settings import TOKEN_ENV
from tests.contract.helpers import BLOB, SECRET_TOKEN


def _strings(raw: bytes) -> list[str]:
    return [arg for _, arg, _ in pickletools.genops(raw) if isinstance(arg, str)]


def test_blob_is_the_88_character_class_reference() -> None:
    assert isinstance(BLOB, str)
    assert len(BLOB) == 88
    assert _strings(base64.b64decode(BLOB)) == ["pulumi_tiktok_audiences.provider", "AppActivity"]


def test_blob_loads_with_plain_pickle_into_a_stateless_provider() -> None:
    provider = pickle.loads(base64.b64decode(BLOB))
    assert type(provider) is AppActivity
    assert vars(provider) == {}


def test_blob_is_plain_text_and_holds_no_token_even_when_one_is_around(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(TOKEN_ENV, SECRET_TOKEN)
    blob = serialize_provider(AppActivity())
    assert blob == BLOB  # a str, not Output.secret: serialize_as_secret_always is off
    assert SECRET_TOKEN.encode() not in base64.b64decode(blob)
