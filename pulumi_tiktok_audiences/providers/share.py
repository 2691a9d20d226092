"""Audience shares: an audience shared with other advertisers of its owner's Business Center.

The id is ``<owner advertiser id>/<audience id>``. Adding advertisers shares with them, removing
one cancels its share, and deleting cancels them all. Refresh reads share/log: a share cancelled
outside Pulumi disappears from the state, so the next ``pulumi up`` shares again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

from pulumi_tiktok_audiences.errors import OperationError
from pulumi_tiktok_audiences.lookalike import ShareSpec
from pulumi_tiktok_audiences.providers.base import AudienceProvider, checked, unknown_keys

if TYPE_CHECKING:
    from pulumi_tiktok_audiences.cache import AudienceCache
    from pulumi_tiktok_audiences.client import TikTokClient

SHARE_KEYS = ("advertiser_id", "audience_id", "shared_advertiser_ids")
SHARE_REPLACE_KEYS = ("advertiser_id", "audience_id")
_SHARED = "SHARED"  # share/log status of an active share (reference §2.7, BB share_log.go)


def _share_inputs(props: dict[str, Any]) -> dict[str, Any]:
    return ShareSpec.model_validate({k: props[k] for k in SHARE_KEYS if props.get(k) is not None}).model_dump(
        mode="json"
    )


class ShareProvider(AudienceProvider):
    """Provider for :class:`~pulumi_tiktok_audiences.resources.AudienceShare`."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = self._with_default_advertiser({k: v for k, v in news.items() if k in SHARE_KEYS})
        return checked(inputs, _share_inputs, news)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        unknown = unknown_keys(news, SHARE_KEYS)
        if unknown:
            return DiffResult(changes=True, replaces=[k for k in SHARE_REPLACE_KEYS if k in unknown])
        new = _share_inputs(news)
        replaces = [k for k in SHARE_REPLACE_KEYS if str(olds.get(k)) != new[k]]
        changes = bool(replaces) or set(olds.get("shared_advertiser_ids") or []) != set(
            new["shared_advertiser_ids"]
        )
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        spec = ShareSpec.model_validate(_share_inputs(props))
        self._share(spec, spec.shared_advertiser_ids)
        return CreateResult(spec.share_id(), {**spec.model_dump(mode="json"), "summary": spec.summary()})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        from pulumi_tiktok_audiences.client import TikTokApiError

        advertiser_id, _, audience_id = id_.partition("/")  # the id names both (see share_id)
        declared = [str(a) for a in props.get("shared_advertiser_ids") or []]
        client, audiences = self._connected()
        try:
            log = client.share_log(advertiser_id, audience_id)
        except TikTokApiError:
            if audiences.fetch(advertiser_id, audience_id) is None:
                return ReadResult("", {})  # the audience is gone, and its shares with it
            raise
        active = {e.shared_advertiser_id for e in log if e.status == _SHARED}
        live = [a for a in declared if a in active]
        if not live:
            return ReadResult("", {})  # every share was cancelled: the next `pulumi up` shares again
        spec = ShareSpec(advertiser_id=advertiser_id, audience_id=audience_id, shared_advertiser_ids=live)
        outs = {**spec.model_dump(mode="json"), "summary": spec.summary()}
        return ReadResult(id_, outs, {k: outs[k] for k in SHARE_KEYS})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        spec = ShareSpec.model_validate(_share_inputs(news))
        before = {str(a) for a in olds.get("shared_advertiser_ids") or []}
        added = [a for a in spec.shared_advertiser_ids if a not in before]
        if added:
            self._share(spec, added)
        removed = sorted(before - set(spec.shared_advertiser_ids), key=int)
        self._cancel(spec.advertiser_id, spec.audience_id, removed)
        return UpdateResult({**spec.model_dump(mode="json"), "summary": spec.summary()})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        shared = [str(a) for a in props.get("shared_advertiser_ids") or []]
        self._cancel(str(props["advertiser_id"]), str(props["audience_id"]), shared)

    def _share(self, spec: ShareSpec, advertiser_ids: list[str]) -> None:
        from pulumi_tiktok_audiences.client import TikTokError

        client, _ = self._connected()
        try:
            client.share_audiences(spec.advertiser_id, [spec.audience_id], advertiser_ids)
        except TikTokError as exc:
            raise OperationError(
                f"Sharing audience {spec.audience_id} with advertisers {', '.join(advertiser_ids)} failed: "
                f"{exc}. Nothing was shared: TikTok shares only with other advertisers of the owner's "
                "Business Center."
            ) from None

    def _cancel(self, advertiser_id: str, audience_id: str, advertiser_ids: list[str]) -> None:
        """Cancel each share; one already cancelled (or an audience already deleted) is done."""
        from pulumi_tiktok_audiences.client import AuthenticationError, TikTokApiError

        client, audiences = self._connected()
        for index, shared_id in enumerate(advertiser_ids):
            try:
                client.cancel_share(advertiser_id, audience_id, shared_id)
            except AuthenticationError:
                raise  # the token, not the share: reading the share log would fail the same way
            except TikTokApiError as exc:
                if not self._still_shared(client, audiences, advertiser_id, audience_id, shared_id):
                    continue
                done = f" (cancelled for {', '.join(advertiser_ids[:index])})" if index else ""
                raise OperationError(
                    f"Cancelling the share of audience {audience_id} with advertiser {shared_id} failed: "
                    f"{exc}{done}. Run the operation again once the cause is fixed."
                ) from None

    @staticmethod
    def _still_shared(
        client: TikTokClient, audiences: AudienceCache, advertiser_id: str, audience_id: str, shared_id: str
    ) -> bool:
        from pulumi_tiktok_audiences.client import TikTokApiError

        try:
            log = client.share_log(advertiser_id, audience_id)
        except TikTokApiError:
            return audiences.fetch(advertiser_id, audience_id) is not None
        return any(e.shared_advertiser_id == shared_id and e.status == _SHARED for e in log)
