"""Batching of ID lists to TikTok's per-call limits, result order, and paging through list."""

from __future__ import annotations

import httpx
import pytest

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client import InvalidRequestError, NotFoundError, PermissionDeniedError
from tests.client.helpers import (
    ADVERTISER,
    Recorder,
    api_error,
    body,
    detail,
    envelope,
    fake_api,
    ids_of,
    make_client,
    query,
    summary,
)

IDS = [str(1800000000000000000 + n) for n in range(250)]


def test_get_splits_250_ids_into_batches_of_100_100_50_and_keeps_the_order() -> None:
    def reversed_answer(request: httpx.Request) -> httpx.Response:
        # TikTok does not document the order of get's answer (Q11): answer in reverse.
        return envelope({"list": [detail(i) for i in reversed(ids_of(request))]})

    recorder = Recorder(reversed_answer)
    with make_client(recorder) as client:
        details = client.get_audiences(ADVERTISER, IDS)
    assert [len(ids_of(r)) for r in recorder.requests] == [100, 100, 50]
    assert [i for r in recorder.requests for i in ids_of(r)] == IDS
    assert [d.audience_id for d in details] == IDS


def test_get_asks_once_per_id_and_not_at_all_for_none() -> None:
    recorder = Recorder(fake_api)
    with make_client(recorder) as client:
        assert client.get_audiences(ADVERTISER, []) == []
        details = client.get_audiences(ADVERTISER, ["2", "1", "2"])
    assert len(recorder.requests) == 1
    assert ids_of(recorder.requests[0]) == ["2", "1"]
    assert [d.audience_id for d in details] == ["2", "1"]


def test_get_leaves_out_audiences_tiktok_does_not_return() -> None:
    recorder = Recorder([envelope({"list": [detail("2"), detail("9")]})])
    with make_client(recorder) as client:
        details = client.get_audiences(ADVERTISER, ["1", "2"])
    assert [d.audience_id for d in details] == ["2", "9"]  # unrequested ones go last


def _tiktok_without(missing: str, code: int, *, listed: bool = False) -> Recorder:
    """get refuses any batch holding ``missing`` with ``code``; list reports it if ``listed``."""

    def answer(request: httpx.Request) -> httpx.Response:
        ids = ids_of(request)
        if request.url.path.endswith(constants.PATH_LIST):
            shown = [i for i in ids if i != missing or listed]
            return envelope({"list": [summary(i) for i in shown], "page_info": {"total_page": 1}})
        if missing in ids:
            return api_error(code, f"audience {missing} does not exist")
        return envelope({"list": [detail(i) for i in ids]})

    return Recorder(answer)


def test_get_with_missing_ok_skips_an_audience_tiktok_says_does_not_exist() -> None:
    recorder = _tiktok_without("404", constants.CODE_NOT_EXIST)
    with make_client(recorder) as client:
        details = client.get_audiences(ADVERTISER, ["1", "404", "3"], missing_ok=True)
        with pytest.raises(NotFoundError):
            client.get_audiences(ADVERTISER, ["1", "404"])
    assert [d.audience_id for d in details] == ["1", "3"]
    assert [ids_of(r) for r in recorder.requests[:4]] == [["1", "404", "3"], ["1"], ["404"], ["3"]]


def test_get_with_missing_ok_confirms_a_parameter_error_through_list() -> None:
    recorder = _tiktok_without("404", constants.CODE_PARAM_ERROR)
    with make_client(recorder) as client:
        details = client.get_audiences(ADVERTISER, ["1", "404"], missing_ok=True)
    assert [d.audience_id for d in details] == ["1"]
    paths = [r.url.path.removeprefix(constants.API_PREFIX) for r in recorder.requests]
    assert paths == [constants.PATH_GET, constants.PATH_GET, constants.PATH_GET, constants.PATH_LIST]
    assert ids_of(recorder.requests[-1]) == ["404"]


def test_get_with_missing_ok_raises_a_parameter_error_about_an_audience_that_exists() -> None:
    recorder = _tiktok_without("7", constants.CODE_PARAM_ERROR, listed=True)
    with make_client(recorder) as client, pytest.raises(InvalidRequestError):
        client.get_audiences(ADVERTISER, ["7"], missing_ok=True)


def test_get_with_missing_ok_still_raises_permission_errors() -> None:
    recorder = _tiktok_without("7", constants.CODE_PERMISSION_ERROR)
    with make_client(recorder) as client, pytest.raises(PermissionDeniedError):
        client.get_audiences(ADVERTISER, ["7"], missing_ok=True)
    assert len(recorder.requests) == 1


def test_get_passes_history_size_and_rejects_values_tiktok_would_refuse() -> None:
    recorder = Recorder(fake_api)
    with make_client(recorder) as client:
        client.get_audiences(ADVERTISER, ["1"], history_size=constants.HISTORY_SIZE_MAX)
        for bad in (0, constants.HISTORY_SIZE_MAX + 1):
            with pytest.raises(ValueError, match="history_size"):
                client.get_audiences(ADVERTISER, ["1"], history_size=bad)
    assert [query(r)["history_size"] for r in recorder.requests] == [str(constants.HISTORY_SIZE_MAX)]


def test_delete_splits_250_ids_into_batches_of_100_100_50() -> None:
    recorder = Recorder(fake_api)
    with make_client(recorder) as client:
        client.delete_audiences(ADVERTISER, IDS)
        client.delete_audiences(ADVERTISER, [])
    assert [len(body(r)["custom_audience_ids"]) for r in recorder.requests] == [100, 100, 50]
    assert [i for r in recorder.requests for i in body(r)["custom_audience_ids"]] == IDS


def test_share_covers_every_pair_within_ten_by_ten_per_call() -> None:
    audiences = [f"a{n}" for n in range(12)]
    advertisers = [f"b{n}" for n in range(15)]
    recorder = Recorder(fake_api)
    with make_client(recorder) as client:
        client.share_audiences(ADVERTISER, audiences, advertisers)
    pairs = set()
    for request in recorder.requests:
        sent = body(request)
        assert 1 <= len(sent["custom_audience_ids"]) <= constants.SHARE_AUDIENCES_MAX
        assert 1 <= len(sent["shared_advertiser_ids"]) <= constants.SHARE_ADVERTISERS_MAX
        pairs |= {(a, b) for a in sent["custom_audience_ids"] for b in sent["shared_advertiser_ids"]}
    assert len(recorder.requests) == 4
    assert pairs == {(a, b) for a in audiences for b in advertisers}


def _paged(total: int, *, report_pages: int | None = None) -> Recorder:
    """A list endpoint holding ``total`` audiences; ``report_pages`` overrides total_page."""
    everything = [summary(str(n)) for n in range(total)]

    def answer(request: httpx.Request) -> httpx.Response:
        params = query(request)
        page, size = int(params["page"]), int(params["page_size"])
        pages = report_pages if report_pages is not None else -(-total // size)
        info = {"page": page, "page_size": size, "total_number": total, "total_page": pages}
        return envelope({"list": everything[(page - 1) * size : page * size], "page_info": info})

    return Recorder(answer)


def test_list_follows_pages_until_total_page() -> None:
    recorder = _paged(23)
    with make_client(recorder) as client:
        audiences = client.list_audiences(ADVERTISER, page_size=10)
    assert [query(r)["page"] for r in recorder.requests] == ["1", "2", "3"]
    assert [a.audience_id for a in audiences] == [str(n) for n in range(23)]


def test_list_trusts_total_page_rather_than_page_contents() -> None:
    recorder = _paged(50, report_pages=2)
    with make_client(recorder) as client:
        audiences = client.list_audiences(ADVERTISER, page_size=10)
    assert len(recorder.requests) == 2
    assert len(audiences) == 20


@pytest.mark.parametrize("data", [{"list": []}, {"list": None, "page_info": {"total_page": 0}}, None])
def test_list_stops_when_there_is_nothing_more(data: object) -> None:
    recorder = Recorder([envelope(data)])
    with make_client(recorder) as client:
        assert client.list_audiences(ADVERTISER) == []
    assert len(recorder.requests) == 1


def test_iterating_fetches_pages_only_as_needed() -> None:
    recorder = _paged(250)
    with make_client(recorder) as client:
        first = next(client.iter_audiences(ADVERTISER))
    assert first.audience_id == "0"
    assert len(recorder.requests) == 1
    assert query(recorder.requests[0])["page_size"] == str(constants.LIST_PAGE_SIZE_MAX)


def test_list_filtered_by_many_ids_sends_them_in_batches() -> None:
    recorder = Recorder(fake_api)
    with make_client(recorder) as client:
        client.list_audiences(ADVERTISER, audience_ids=IDS[:150])
    assert [len(ids_of(r)) for r in recorder.requests] == [100, 50]


@pytest.mark.parametrize("page_size", [0, constants.LIST_PAGE_SIZE_MAX + 1])
def test_list_rejects_page_sizes_tiktok_would_refuse(page_size: int) -> None:
    recorder = Recorder(fake_api)
    with make_client(recorder) as client, pytest.raises(ValueError, match="page_size"):
        client.list_audiences(ADVERTISER, page_size=page_size)
    assert recorder.requests == []
