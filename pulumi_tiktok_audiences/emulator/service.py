"""The audience endpoints' business rules, over the store: what TikTok does once a request is valid.

Choices where TikTok's documentation is silent (reference §5), all with a message naming the ID:

* An audience ID that does not exist or was deleted: **40007**, the documented not-found code
  (reference §6.4). One that exists but belongs to
  another advertiser (and is not shared with this one): **40001**. A shared-in audience can be read
  (get, list) but only its owner may change, share, delete or base a lookalike on it: 40001.
* get and delete are all-or-nothing: one bad ID fails the request and nothing is deleted.
  The list filter ``custom_audience_ids`` simply skips IDs the advertiser cannot see.
* get returns the requested IDs in request order (duplicates once) with the most recent
  ``history_size`` history rows, newest first; list orders by create_time, then ID.
* Deleted audiences disappear from get and list at once. The 400-audience cap counts the
  advertiser's own live audiences, lookalikes included.
* get answers in the shape chosen in answers.py: by default the backend's (``inclusions``/
  ``exclusions``, ad-group naming, integer enums, backend lookalike names; reference §6.1, §6.4).
* Expiry: ``expired_time`` is ``retention_in_days`` after creation when set, else 365 days after the
  last modification (rename, sub-type change, share, share cancel, lookalike created from it,
  lookalike refresh). ``is_expiring`` is true from 60 days before ``expired_time`` on (and stays true
  after it). An expired audience reports ``is_valid`` false and ``cover_num`` 0 and can only be
  deleted: every other change is refused with 40002.
* History actions: "create", "update name", "update audience sub type", "share", "cancel share",
  "refresh"; editor "open_api". Share log statuses: "SHARED", "CANCELLED".
* Sharing targets must exist, differ from the sharer and be in its Business Center, else 40002.
* Processing: for ``processing_seconds`` after a create or a recalculation (lookalike refresh),
  measured on the emulator's clock, update and delete answer 40002 "the audience is currently being
  updated or under processing" (reference §7.3, TikTok's Return Codes page via AE). TikTok gives no
  duration; the default (:data:`DEFAULT_PROCESSING_SECONDS`) is short so that demos and the test
  suite stay fast, and ``TIKTOK_EMULATOR_PROCESSING_SECONDS`` or ``Emulator(processing_seconds=)``
  change it (0: off).
* update needs ``custom_audience_name`` or ``file_paths``, whatever else it carries, sub-type
  changes included: "You must pass in either this field or file_paths" (reference §7.4, TikTok's
  update page), else 40002.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.emulator import population, validation
from pulumi_tiktok_audiences.emulator.answers import (
    AnswerShape,
    render_lookalike,
    render_rule,
    render_sub_type,
)
from pulumi_tiktok_audiences.emulator.clock import Clock, format_time
from pulumi_tiktok_audiences.emulator.directory import Directory, Principal
from pulumi_tiktok_audiences.emulator.errors import ApiError, param_error, permission_error
from pulumi_tiktok_audiences.emulator.seed import PopulationConfig
from pulumi_tiktok_audiences.emulator.store import (
    SHARE_ACTIVE,
    SHARE_CANCELLED,
    AudienceRow,
    Store,
    Transaction,
)

KIND_APP = "APP"
KIND_LOOKALIKE = "LOOKALIKE"
EDITOR = "open_api"
DAY = 86_400.0
_TYPE_NAMES = {KIND_APP: constants.APP_ACTIVITY_TYPE_NAME, KIND_LOOKALIKE: constants.LOOKALIKE_TYPE_NAME}

Handler = Callable[[Principal, dict[str, Any]], dict[str, Any]]

PROCESSING_ENV = "TIKTOK_EMULATOR_PROCESSING_SECONDS"
DEFAULT_PROCESSING_SECONDS = 2.0
"""A couple of seconds: long enough that a client updating or deleting right after a create meets the
refusal, short enough that waiting it out costs a demo or a test little."""


def resolve_processing_seconds(seconds: float | None) -> float:
    """``seconds``, else ``TIKTOK_EMULATOR_PROCESSING_SECONDS``, else the default; never negative.

    The ValueError names the variable when the value came from it (its user never wrote the argument).
    """
    given: object = seconds
    where = "processing_seconds"
    if seconds is None:
        text = os.environ.get(PROCESSING_ENV, "").strip()
        given, where = text, PROCESSING_ENV
        try:
            seconds = float(text) if text else DEFAULT_PROCESSING_SECONDS
        except ValueError:
            seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"{where} must be 0 or a positive number of seconds, got {given!r}")
    return seconds


@dataclass(frozen=True)
class Endpoint:
    """One TikTok endpoint: where it lives, how its request is checked, and what it does."""

    path: str  # below constants.API_PREFIX
    method: str
    schema: validation.Obj  # body schema for POST, query schema for GET
    handler: Handler
    extra_check: Callable[[Mapping[str, Any]], None] | None = None


@dataclass(frozen=True)
class AudienceState:
    """What the size model and the expiry policy say about an audience at a moment."""

    is_valid: bool
    cover_num: int
    expired_time: float
    is_expiring: bool
    expired: bool


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


class AudienceService:
    """Endpoint handlers; each runs its reads and writes in one store transaction."""

    def __init__(
        self,
        store: Store,
        directory: Directory,
        clock: Clock,
        config: PopulationConfig,
        answer_shape: AnswerShape = AnswerShape.BACKEND,
        processing_seconds: float = DEFAULT_PROCESSING_SECONDS,
    ) -> None:
        self._store = store
        self._directory = directory
        self._clock = clock
        self._config = config
        self.answer_shape = answer_shape
        self.processing_seconds = processing_seconds

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                constants.PATH_RULE_CREATE,
                "POST",
                validation.RULE_CREATE,
                self.rule_create,
                validation.check_app_rules,
            ),
            Endpoint(constants.PATH_UPDATE, "POST", validation.UPDATE, self.update, validation.check_update),
            Endpoint(constants.PATH_GET, "GET", validation.GET, self.get_audiences),
            Endpoint(constants.PATH_LIST, "GET", validation.LIST, self.list_audiences),
            Endpoint(constants.PATH_DELETE, "POST", validation.DELETE, self.delete),
            Endpoint(constants.PATH_SHARE, "POST", validation.SHARE, self.share),
            Endpoint(constants.PATH_SHARE_CANCEL, "POST", validation.SHARE_CANCEL, self.share_cancel),
            Endpoint(constants.PATH_SHARE_LOG, "GET", validation.SHARE_LOG, self.share_log),
            Endpoint(
                constants.PATH_LOOKALIKE_CREATE, "POST", validation.LOOKALIKE_CREATE, self.lookalike_create
            ),
            Endpoint(
                constants.PATH_LOOKALIKE_UPDATE, "POST", validation.LOOKALIKE_UPDATE, self.lookalike_update
            ),
        ]

    # --- endpoints ------------------------------------------------------------------------
    def rule_create(self, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
        advertiser_id = self._authorised(principal, body["advertiser_id"])
        for set_name in ("inclusion_rule_set", "exclusion_rule_set"):
            for index, rule in enumerate(body["rule_spec"].get(set_name, {}).get("rules", [])):
                for app_id in rule["event_source_ids"]:
                    if not self._directory.owns_app(advertiser_id, app_id):
                        raise permission_error(
                            f"rule_spec.{set_name}.rules[{index}].event_source_ids: app {app_id[:32]} "
                            f"does not belong to advertiser {advertiser_id}"
                        )
        with self._store.write() as tx:
            self._check_cap(tx, advertiser_id)
            now = self._clock.time()
            row = AudienceRow(
                audience_id=tx.next_audience_id(),
                advertiser_id=advertiser_id,
                name=body["custom_audience_name"],
                kind=KIND_APP,
                sub_type=body.get("audience_sub_type", "NORMAL"),
                is_auto_refresh=body.get("is_auto_refresh", True),
                audience_enhancement=body.get("audience_enhancement", False),
                rule=json.dumps(body["rule_spec"], separators=(",", ":"), ensure_ascii=False),
                lookalike_spec=None,
                retention_in_days=body.get("retention_in_days"),
                target_size=population.app_audience_size(advertiser_id, body["rule_spec"]),
                create_time=now,
                calc_start=now,
                modify_time=now,
            )
            tx.insert_audience(row)
            tx.add_history(row.audience_id, "create", "0", EDITOR, now)
        return {"custom_audience_id": row.audience_id}

    def update(self, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
        advertiser_id = self._authorised(principal, body["advertiser_id"])
        with self._store.write() as tx:
            now = self._clock.time()
            row = self._changeable(tx, advertiser_id, body["custom_audience_id"], "custom_audience_id", now)
            self._check_not_processing(row, now)
            if "audience_sub_type" in body:  # "changes to every other field are ignored" (Y:update)
                self._change_sub_type(tx, row, body["audience_sub_type"], now)
                return {}
            if "file_paths" in body:
                raise param_error("file_paths: only Customer File audiences accept file_paths")
            if body.get("audience_enhancement", row.audience_enhancement) != row.audience_enhancement:
                tx.update_audience(row.audience_id, audience_enhancement=body["audience_enhancement"])
            name = body["custom_audience_name"]
            if name != row.name:
                tx.update_audience(row.audience_id, name=name, modify_time=now)
                tx.add_history(row.audience_id, "update name", name, EDITOR, now)
        return {}

    def get_audiences(self, principal: Principal, query: dict[str, Any]) -> dict[str, Any]:
        advertiser_id = self._authorised(principal, query["advertiser_id"])
        history_size = query.get("history_size", constants.HISTORY_SIZE_MAX)
        items = []
        with self._store.read() as tx:
            now = self._clock.time()
            for audience_id in _unique(query["custom_audience_ids"]):
                row = self._visible(tx, advertiser_id, audience_id, "custom_audience_ids")
                history = [
                    {
                        "action": h.action,
                        "action_detail": h.action_detail,
                        "editor": h.editor,
                        "msg": None,
                        "opt_time": format_time(h.opt_time),
                    }
                    for h in tx.history(audience_id, history_size)
                ]
                items.append(
                    {
                        "audience_details": self._details(tx, row, advertiser_id, now),
                        "audience_history": history,
                    }
                )
        return {"list": items}

    def list_audiences(self, principal: Principal, query: dict[str, Any]) -> dict[str, Any]:
        advertiser_id = self._authorised(principal, query["advertiser_id"])
        page = query.get("page", 1)
        page_size = query.get("page_size", constants.LIST_PAGE_SIZE_DEFAULT)
        with self._store.read() as tx:
            now = self._clock.time()
            rows = tx.visible_audiences(advertiser_id)
            if "custom_audience_ids" in query:
                wanted = set(query["custom_audience_ids"])
                rows = [row for row in rows if row.audience_id in wanted]
            start = (page - 1) * page_size
            items = [self._list_item(tx, row, advertiser_id, now) for row in rows[start : start + page_size]]
        page_info = {
            "page": page,
            "page_size": page_size,
            "total_number": len(rows),
            "total_page": math.ceil(len(rows) / page_size),
        }
        return {"list": items, "page_info": page_info}

    def delete(self, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
        advertiser_id = self._authorised(principal, body["advertiser_id"])
        with self._store.write() as tx:
            ids = _unique(body["custom_audience_ids"])
            now = self._clock.time()
            for audience_id in ids:
                row = self._owned(tx, advertiser_id, audience_id, "custom_audience_ids")
                self._check_not_processing(row, now)
            tx.mark_deleted(ids, now)
        return {}

    def share(self, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
        advertiser_id = self._authorised(principal, body["advertiser_id"])
        targets = _unique(body["shared_advertiser_ids"])
        for target in targets:
            self._check_share_target(advertiser_id, target, "shared_advertiser_ids")
        with self._store.write() as tx:
            now = self._clock.time()
            rows = [
                self._changeable(tx, advertiser_id, audience_id, "custom_audience_ids", now)
                for audience_id in _unique(body["custom_audience_ids"])
            ]
            for row in rows:
                for target in targets:
                    tx.set_share(row.audience_id, target, SHARE_ACTIVE, now)
                tx.update_audience(row.audience_id, modify_time=now)
                tx.add_history(row.audience_id, "share", ",".join(targets), EDITOR, now)
        return {}

    def share_cancel(self, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
        advertiser_id = self._authorised(principal, body["advertiser_id"])
        target = body["shared_advertiser_id"]
        with self._store.write() as tx:
            now = self._clock.time()
            row = self._changeable(tx, advertiser_id, body["custom_audience_id"], "custom_audience_id", now)
            if target not in tx.shared_with(row.audience_id):
                raise param_error(
                    f"shared_advertiser_id: audience {row.audience_id} is not shared with advertiser {target}"
                )
            tx.set_share(row.audience_id, target, SHARE_CANCELLED, now)
            tx.update_audience(row.audience_id, modify_time=now)
            tx.add_history(row.audience_id, "cancel share", target, EDITOR, now)
        return {}

    def share_log(self, principal: Principal, query: dict[str, Any]) -> dict[str, Any]:
        advertiser_id = self._authorised(principal, query["advertiser_id"])
        with self._store.read() as tx:
            row = self._owned(tx, advertiser_id, query["custom_audience_id"], "custom_audience_id")
            shares = tx.shares(row.audience_id)
        return {
            "list": [
                {
                    "shared_advertiser_id": s.shared_advertiser_id,
                    "shared_advertiser_name": self._advertiser_name(s.shared_advertiser_id),
                    "custom_audience_id": s.audience_id,
                    "status": s.status,
                }
                for s in shares
            ]
        }

    def lookalike_create(self, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
        advertiser_id = self._authorised(principal, body["advertiser_id"])
        spec = body["lookalike_spec"]
        path = "lookalike_spec.source_audience_id"
        with self._store.write() as tx:
            now = self._clock.time()
            source = self._changeable(tx, advertiser_id, spec["source_audience_id"], path, now)
            if source.kind == KIND_LOOKALIKE:
                raise param_error(
                    f"{path}: audience {source.audience_id} is a lookalike audience; use another"
                )
            source_size = self.state(source, now).cover_num
            if source_size < constants.LOOKALIKE_SOURCE_MIN_SIZE:
                raise param_error(
                    f"{path}: source audience {source.audience_id} covers {source_size} people; "
                    f"a lookalike needs at least {constants.LOOKALIKE_SOURCE_MIN_SIZE}"
                )
            self._check_cap(tx, advertiser_id)
            row = AudienceRow(
                audience_id=tx.next_audience_id(),
                advertiser_id=advertiser_id,
                name=body["custom_audience_name"],
                kind=KIND_LOOKALIKE,
                sub_type="NORMAL",  # lookalike/create takes no sub-type, and update refuses one
                is_auto_refresh=False,
                audience_enhancement=False,
                rule=None,
                lookalike_spec=json.dumps(spec, separators=(",", ":"), ensure_ascii=False),
                retention_in_days=None,
                target_size=population.lookalike_size(advertiser_id, spec, source_size),
                create_time=now,
                calc_start=now,
                modify_time=now,
            )
            tx.insert_audience(row)
            tx.add_history(row.audience_id, "create", "0", EDITOR, now)
            tx.update_audience(source.audience_id, modify_time=now)
        return {"custom_audience_id": row.audience_id}

    def lookalike_update(self, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
        advertiser_id = self._authorised(principal, body["advertiser_id"])
        with self._store.write() as tx:
            now = self._clock.time()
            for audience_id in _unique(body["custom_audience_ids"]):
                row = self._changeable(tx, advertiser_id, audience_id, "custom_audience_ids", now)
                if row.kind != KIND_LOOKALIKE:
                    raise param_error(
                        f"custom_audience_ids: audience {audience_id} is not a lookalike audience"
                    )
                tx.update_audience(audience_id, calc_start=now, modify_time=now)
                tx.add_history(audience_id, "refresh", "0", EDITOR, now)
        return {}

    # --- state and rendering --------------------------------------------------------------
    def snapshot(
        self, advertiser_id: str | None = None, include_deleted: bool = False
    ) -> list[dict[str, Any]]:
        """Stored audiences with their current state, for test assertions (no token in it)."""
        with self._store.read() as tx:
            now = self._clock.time()
            rows = tx.all_audiences(advertiser_id, include_deleted)
            shares = {row.audience_id: tx.shared_with(row.audience_id) for row in rows}
        result = []
        for row in rows:
            state = self.state(row, now)
            result.append(
                {
                    "audience_id": row.audience_id,
                    "advertiser_id": row.advertiser_id,
                    "name": row.name,
                    "kind": row.kind,
                    "audience_sub_type": row.sub_type,
                    "is_auto_refresh": row.is_auto_refresh,
                    "retention_in_days": row.retention_in_days,
                    "rule_spec": json.loads(row.rule) if row.rule else None,
                    "lookalike_spec": json.loads(row.lookalike_spec) if row.lookalike_spec else None,
                    "target_size": row.target_size,
                    "cover_num": state.cover_num,
                    "is_valid": state.is_valid,
                    "is_expiring": state.is_expiring,
                    "expired_time": format_time(state.expired_time),
                    "create_time": format_time(row.create_time),
                    "modify_time": format_time(row.modify_time),
                    "deleted": row.deleted_time is not None,
                    "shared_with": shares[row.audience_id],
                }
            )
        return result

    def state(self, row: AudienceRow, now: float) -> AudienceState:
        """Size and expiry of ``row`` at ``now``."""
        if row.retention_in_days is not None:
            expires = row.create_time + row.retention_in_days * DAY
        else:
            expires = row.modify_time + constants.UNUSED_EXPIRY_DAYS * DAY
        expiring = expires - now <= constants.EXPIRING_WITHIN_DAYS * DAY
        if now >= expires:
            return AudienceState(False, 0, expires, expiring, expired=True)
        is_valid, cover_num = population.cover(row.target_size, row.calc_start, now, self._config)
        return AudienceState(is_valid, cover_num, expires, expiring, expired=False)

    def _list_item(self, tx: Transaction, row: AudienceRow, advertiser_id: str, now: float) -> dict[str, Any]:
        state = self.state(row, now)
        is_creator = row.advertiser_id == advertiser_id
        return {
            "audience_id": row.audience_id,
            "name": row.name,
            "audience_type": _TYPE_NAMES[row.kind],
            "cover_num": state.cover_num,
            "is_valid": state.is_valid,
            "is_expiring": state.is_expiring,
            "expired_time": format_time(state.expired_time),
            "create_time": format_time(row.create_time),
            "shared": bool(tx.shared_with(row.audience_id)) if is_creator else True,
            "is_creator": is_creator,
            "calculate_type": None,  # Customer File audiences only
        }

    def _details(self, tx: Transaction, row: AudienceRow, advertiser_id: str, now: float) -> dict[str, Any]:
        item = self._list_item(tx, row, advertiser_id, now)
        item["type"] = item.pop("audience_type")
        item.update(
            {
                "audience_sub_type": render_sub_type(row.sub_type, self.answer_shape),
                "owner_id": row.advertiser_id,
                "is_auto_refresh": row.is_auto_refresh,
                "rule": render_rule(row.rule, self.answer_shape) if row.rule else None,
                "lookalike_spec": (
                    [render_lookalike(row.lookalike_spec, self.answer_shape)] if row.lookalike_spec else []
                ),
                "msg": None,
                "error_msg": None,
                "audience_enhancement": row.audience_enhancement,
                "enhancement_status": None,
            }
        )
        return item

    # --- checks ---------------------------------------------------------------------------
    def _authorised(self, principal: Principal, advertiser_id: str) -> str:
        if advertiser_id not in principal.advertiser_ids:
            raise permission_error(
                f"advertiser_id: the access token has no permission for advertiser {advertiser_id}"
            )
        return advertiser_id

    def _check_cap(self, tx: Transaction, advertiser_id: str) -> None:
        if tx.owned_count(advertiser_id) >= constants.AUDIENCES_PER_ADVERTISER_MAX:
            raise param_error(
                f"advertiser_id: advertiser {advertiser_id} already has "
                f"{constants.AUDIENCES_PER_ADVERTISER_MAX} custom audiences, the maximum; delete one first"
            )

    def _check_share_target(self, advertiser_id: str, target: str, path: str) -> None:
        if self._directory.advertiser(target) is None:
            raise param_error(f"{path}: advertiser {target} does not exist")
        if target == advertiser_id:
            raise param_error(f"{path}: advertiser {target} is the sharing advertiser itself")
        if not self._directory.same_business_center(advertiser_id, target):
            raise param_error(
                f"{path}: advertiser {target} is not in the same Business Center "
                f"as advertiser {advertiser_id}"
            )

    def _visible(self, tx: Transaction, advertiser_id: str, audience_id: str, path: str) -> AudienceRow:
        row = tx.audience(audience_id)
        if row is None or row.deleted_time is not None:  # 40007, TikTok's not-found (reference §6.4)
            raise ApiError(constants.CODE_NOT_EXIST, f"{path}: audience {audience_id} does not exist")
        if row.advertiser_id != advertiser_id and advertiser_id not in tx.shared_with(audience_id):
            raise permission_error(
                f"{path}: audience {audience_id} does not belong to advertiser {advertiser_id}"
            )
        return row

    def _owned(self, tx: Transaction, advertiser_id: str, audience_id: str, path: str) -> AudienceRow:
        row = self._visible(tx, advertiser_id, audience_id, path)
        if row.advertiser_id != advertiser_id:
            raise permission_error(
                f"{path}: audience {audience_id} was shared with advertiser {advertiser_id}; "
                f"only its owner {row.advertiser_id} may change it"
            )
        return row

    def _changeable(
        self, tx: Transaction, advertiser_id: str, audience_id: str, path: str, now: float
    ) -> AudienceRow:
        row = self._owned(tx, advertiser_id, audience_id, path)
        if self.state(row, now).expired:
            raise param_error(f"{path}: audience {audience_id} has expired; it can only be deleted")
        return row

    def _check_not_processing(self, row: AudienceRow, now: float) -> None:
        """40002 while the audience is within its processing window (see the module docstring)."""
        if now < row.calc_start + self.processing_seconds:
            raise param_error(
                f"Audience {row.audience_id} is currently being updated or under processing. "
                "Please try again later."
            )

    def _change_sub_type(self, tx: Transaction, row: AudienceRow, sub_type: str, now: float) -> None:
        if row.kind == KIND_LOOKALIKE:
            raise param_error("audience_sub_type: cannot be changed on a lookalike audience")
        if sub_type == row.sub_type:
            return
        if (row.sub_type, sub_type) != ("NORMAL", "REACH_FREQUENCY"):
            raise param_error("audience_sub_type: only NORMAL -> REACH_FREQUENCY is allowed (one way)")
        tx.update_audience(row.audience_id, sub_type=sub_type, modify_time=now)
        tx.add_history(
            row.audience_id, "update audience sub type", f"{row.sub_type} -> {sub_type}", EDITOR, now
        )

    def _advertiser_name(self, advertiser_id: str) -> str:
        advertiser = self._directory.advertiser(advertiser_id)
        return advertiser.display_name if advertiser else advertiser_id
