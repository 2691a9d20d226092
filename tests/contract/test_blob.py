"""The serialized provider stored in every resource's state: a class reference, nothing else."""

from __future__ import annotations

import base64
import pickle
import pickletools

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from pulumi_tiktok_audiences.provider import AppActivity, Lookalike, Share
from pulumi_tiktok_audiences.settings import TOKEN_ENV
from tests.contract.helpers import BLOB, SECRET_TOKEN


def _strings(raw: bytes) -> list[str]:
    return [arg for _, arg, _ in pickletools.genops(raw) if isinstance(arg, str)]


def test_blob_is_the_88_character_class_reference() -> None:
    assert isinstance(BLOB, str)
    assert len(BLOB) == 88
    assert _strings(base64.b64decode(BLOB)) == ["pulumi_tiktok_audiences.provider", "AppActivity"]


# What main stored before the providers were split into providers/ (serialize_provider of each class):
# every stack's state holds these strings, so they must never change.
STORED_BLOBS = {
    AppActivity: "gASVNwAAAAAAAACMIHB1bHVtaV90aWt0b2tfYXVkaWVuY2VzLnByb3ZpZGVylIwLQXBwQWN0aXZpdHmUk5QpgZQu",
    Lookalike: "gASVNQAAAAAAAACMIHB1bHVtaV90aWt0b2tfYXVkaWVuY2VzLnByb3ZpZGVylIwJTG9va2FsaWtllJOUKYGULg==",
    Share: "gASVMQAAAAAAAACMIHB1bHVtaV90aWt0b2tfYXVkaWVuY2VzLnByb3ZpZGVylIwFU2hhcmWUk5QpgZQu",
}


@pytest.mark.parametrize("provider", list(STORED_BLOBS), ids=lambda c: c.__name__)
def test_the_blob_of_every_provider_is_the_one_states_hold(provider: type) -> None:
    blob = serialize_provider(provider())
    assert blob == STORED_BLOBS[provider]
    assert type(pickle.loads(base64.b64decode(blob))) is provider


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
