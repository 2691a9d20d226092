"""Client-side pacing: one adaptive rate budget per developer app, shared by every process using it.

TikTok limits requests per developer app, per second, per minute and per day, counting every token
and tool of the app; over a limit it suspends the whole app, for the rest of the second, for 5
minutes or until 00:00 UTC (reference §6.3), and its answer (40100, "requests from App [id] are
temporarily restricted", §7.2) does not say which. So:

- **One budget per app.** Requests of all the processes using an app (the hosts of several stacks, a
  CI matrix, the CLI) take evenly spaced send slots from one log in a shared store
  (:mod:`.ratestore`: a SQLite file on one machine, Redis across machines).
- **Adaptive pace, never above the per-second limit.** Each tier's per-minute limit is 60 times its
  per-second one, so a sender that never exceeds the per-second pace cannot exceed the minute; the
  pacer never goes above it (or above a configured rate). Below it, the pace adapts the way the AWS
  SDKs' adaptive retry mode does (a token bucket whose rate follows CUBIC, RFC 9438: cut
  multiplicatively on a throttling answer, then grown back along a cubic curve that is flat near a
  plateau just under the rate where TikTok last refused): it starts at half the ceiling and grows
  additively until TikTok first refuses, so a deployment uses what other tools of the app leave. The
  state lives in the store, so every process paces by the same number.
- **Suspensions inferred, not read.** The pacer counts the app's requests per UTC day in the store. A
  refusal is taken as per-second at first (everything waits a second after it: TikTok counts refused
  requests too, so the rolling second must drain); one that outlasts a few seconds as the 5-minute
  suspension after the per-minute limit (waited out, probing every 30 s, announced on stderr); and a
  refusal when the day's count has reached the tier's daily quota, or one that outlasts 5 minutes, as
  the daily quota (the call fails at once with the time it resets: 00:00 UTC).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client.errors import RateLimitedError, Restriction
from pulumi_tiktok_audiences.client.retry import format_duration
from pulumi_tiktok_audiences.ratestore import LaneState, RateStore, StoreError

START_SHARE = 0.5
"""The pace a fresh budget starts at, as a share of its ceiling (what was once the fixed pace)."""
SLOW_START_GROWTH = 1.0
"""Until TikTok first refuses, the pace grows by this share of the ceiling each second (from half to
all of it in half a second: a fresh budget learns where others leave room from its first refusal)."""
BETA = 0.9
"""After a per-second refusal the pace is this share of the pace at the refusal (CUBIC's beta; AWS
uses 0.7, RFC 9438 0.7: here each refusal already stops the app for a second, so a shallow cut)."""
RECOVERY_SECONDS = 40.0
"""CUBIC's K for a cut from the ceiling to BETA of it with the plateau at the ceiling: the longer, the
rarer the refusals and the slower the pace finds room that others freed. The plateau is set halfway
between the cut and the refused pace (:meth:`Budget._judge`), so the climb back to it takes about 32 s
after a refusal at the ceiling (40 s times the cube root of a half), and less at lower paces."""
FLOOR_SHARE = 0.05
"""The pace never drops below this share of the ceiling."""
DRAIN_SECONDS = 1.0
"""After a per-second refusal nothing leaves for this long: TikTok counts the refused requests in its
rolling second too, so sending again when the calendar second ends would be refused again."""
SECOND_RUN_SECONDS = 2.5
"""Refusals within this long of the first of a run are taken as per-second suspensions."""
PROBE_SECONDS = 30.0
"""During a longer suspension, one request tries every this often (TikTok counts them too)."""
DAY_AFTER_SECONDS = constants.QPM_SUSPENSION_SECONDS + 5.0
"""A run of refusals this long is no 5-minute suspension: the daily quota is spent."""
RUN_GAP_SECONDS = PROBE_SECONDS + 10.0
"""Refusals further apart than this belong to separate runs."""
LATE_CREDIT = 0.5
"""A thread woken this share of a spacing after its slot still takes that slot (see Budget.acquire)."""
IDLE_RESET_SECONDS = 120.0
"""A lane not used for this long starts afresh from :data:`START_SHARE` (others' use may have changed)."""
_BUDGET_KEY = b"pulumi-tiktok-audiences rate budget v1"


def budget_key_for_token(token: str) -> str:
    """The budget name used when none is configured: a keyed one-way hash of the token (BLAKE2b), so the
    token itself is never stored and cannot be read back from the name."""
    digest = hashlib.blake2b(token.encode(), key=_BUDGET_KEY, digest_size=10).hexdigest()
    return f"token-{digest}"


@dataclass(frozen=True)
class Pacing:
    """The ceiling of a budget: at most ``per_second`` requests a second (evenly spaced), the day's quota
    ``per_day`` (None: unknown), for the whole app or, with ``per_endpoint``, each endpoint (sandbox)."""

    per_second: float
    per_day: int | None = None
    per_endpoint: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.per_second) and self.per_second > 0):
            raise ValueError(f"per_second must be a positive number, got {self.per_second}")


def pace_at(state: LaneState, now: float, ceiling: float) -> float:
    """Requests per second the lane may send at ``now``: slow start, then CUBIC after a refusal."""
    if state.w_max is None or state.cut_at is None:
        since = now if state.since is None else state.since
        return min(ceiling, ceiling * (START_SHARE + SLOW_START_GROWTH * max(0.0, now - since)))
    # W(t) = w_max + C (t - K)^3 from the pace right after the cut, with C chosen so that K is
    # RECOVERY_SECONDS at the ceiling for a full cut (1 - BETA).
    c = ceiling * (1 - BETA) / RECOVERY_SECONDS**3
    after_cut = BETA * state.w_max if state.w_cut is None else state.w_cut
    k = (max(0.0, state.w_max - after_cut) / c) ** (1 / 3)
    pace: float = state.w_max + c * (now - state.cut_at - k) ** 3
    return min(ceiling, max(FLOOR_SHARE * ceiling, pace))


def utc_day(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


class Budget:
    """The rate budget of one developer app in a store; a client's ``limiter`` (called before every
    attempt), told by the client how TikTok answered (:meth:`accepted`, :meth:`refused`).

    ``clock`` must be the epoch's (``time.time``): the store is shared by processes and machines, and
    the day's count is per UTC day.
    """

    def __init__(
        self,
        store: RateStore,
        app: str,
        pacing: Pacing,
        *,
        scope: str = "",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.app = app
        self.pacing = pacing
        self._scope = scope
        self._clock = clock
        self._sleep = sleep
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._sent = threading.local()  # this thread's last send: (lane, time, state then)

    def lane(self, endpoint: str) -> str:
        base = f"{self._scope}|{self.app}"
        return f"{base}|{endpoint}" if self.pacing.per_endpoint else base

    def _lock(self, lane: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(lane, threading.Lock())

    def __call__(self, endpoint: str) -> None:
        self.acquire(endpoint)

    def acquire(self, endpoint: str) -> float:
        """Wait for the lane's next send slot; returns its time (the clock's). While the app is suspended
        (a refusal seen by any process), raises :class:`SuspendedError` instead: the caller's retry loop
        waits that out as it does a refusal, apart from its budget for faults.

        Threads of one process queue on a lock, so only one of them asks the store at a time."""
        lane = self.lane(endpoint)
        planned: float | None = None  # the slot this thread slept for
        with self._lock(lane):
            while True:
                now = self._clock()
                state = self.store.read(lane)
                if state.blocked_until > now:
                    raise SuspendedError(endpoint, state, now)
                spacing = 1.0 / pace_at(state, now, self.pacing.per_second)
                # Woken late (a busy machine), claim the slot slept for, up to half a spacing back:
                # otherwise every late wake-up would be lost from the pace for good.
                at = now if planned is None else min(now, max(planned, now - LATE_CREDIT * spacing))
                wait = self.store.take_slot(lane, at, spacing)
                if wait <= 0:
                    break
                planned = at + wait
                self._sleep(max(0.0, planned - now))
        self._sent.last = (lane, at, state)
        self.store.update(lane, lambda s: _counted(s, at))
        return at

    def accepted(self, endpoint: str) -> None:
        """TikTok answered the last request of this thread (any code but a rate limit): a run of
        refusals that began before that request was sent is over."""
        lane, sent, state = self._last(endpoint)
        if state is not None and state.refused_since is not None and sent >= state.refused_since:
            # Bookkeeping after TikTok answered: a store failing now must not lose the answer (a create
            # TikTok made); the next request's acquire() reports the store instead.
            with contextlib.suppress(StoreError):
                self.store.update(lane, lambda s: replace(s, refused_since=None) if s.refused_since else s)

    def refused(self, endpoint: str, code: int) -> Restriction:
        """TikTok refused the last request of this thread as too frequent: which window that is taken to
        be, how long every process of the app waits, and what to tell the people waiting."""
        lane = self.lane(endpoint)
        now = self._clock()
        verdict: list[Restriction] = []

        def judge(state: LaneState) -> LaneState:
            state, restriction = self._judge(state, now, endpoint, code)
            verdict.append(restriction)
            return state

        self.store.update(lane, judge)
        return verdict[-1]

    def _last(self, endpoint: str) -> tuple[str, float, LaneState | None]:
        lane = self.lane(endpoint)
        last = getattr(self._sent, "last", None)
        if last is None or last[0] != lane:
            return lane, -math.inf, None
        return last  # type: ignore[no-any-return]

    def _judge(self, state: LaneState, now: float, endpoint: str, code: int) -> tuple[LaneState, Restriction]:
        per_day = self.pacing.per_day
        app = f"developer app {self.app!r}"
        if per_day is not None and state.day == utc_day(now) and state.day_count > per_day:
            note = (
                f"TikTok refused {endpoint} (code {code}) after this app's processes sent "
                f"{state.day_count:,} requests today, more than its tier's daily quota ({per_day:,})."
            )
            return state, Restriction("day", 0.0, note)
        run_start = state.refused_since
        if run_start is not None and now - (state.last_refused or run_start) > RUN_GAP_SECONDS:
            run_start = None  # the last refusal was long ago: this one starts a new run
        if run_start is not None and utc_day(run_start) != utc_day(now):
            run_start = None  # a new day: whatever the app spent yesterday is back
        since = now if run_start is None else run_start
        run = now - since
        if run < SECOND_RUN_SECONDS:
            if run_start is None:  # the first refusal of a run: cut the pace, once
                pace = pace_at(state, now, self.pacing.per_second)
                # The plateau goes a little below the refused pace (CUBIC's fast convergence, applied to
                # every refusal): refusals near the limit are mostly scheduling noise, so the pace settles
                # where they are rare, and the cubic probing above the plateau finds any room freed.
                w_max = pace * (1 + BETA) / 2
                state = replace(state, w_max=w_max, w_cut=BETA * pace, cut_at=now, since=state.since or now)
            until = max(state.blocked_until, now + DRAIN_SECONDS)
            state = replace(state, refused_since=since, last_refused=now, blocked_until=until, note="")
            return state, Restriction("second", until - now, "")
        if run < DAY_AFTER_SECONDS:
            end = since + constants.QPM_SUSPENSION_SECONDS + 0.5
            until = min(end, now + PROBE_SECONDS) if now < end else since + DAY_AFTER_SECONDS + 0.5
            until = max(until, state.blocked_until)
            resume = datetime.fromtimestamp(end, UTC)
            note = (
                f"TikTok has been refusing the requests of {app} as too frequent for "
                f"{format_duration(run)} ({endpoint}: code {code}): taken as its 5-minute suspension after "
                "the per-minute limit (another tool or token of the same developer app may be using it); it "
                "ends by "
                f"{resume:%H:%M:%S} UTC at the latest."
            )
            state = replace(state, refused_since=since, last_refused=now, blocked_until=until, note=note)
            return state, Restriction("minute", until - now, note)
        note = (
            f"TikTok has been refusing the requests of {app} as too frequent for {format_duration(run)}, "
            "longer than its 5-minute suspension after the per-minute limit lasts."
        )
        return replace(state, refused_since=since, last_refused=now), Restriction("day", 0.0, note)


class SuspendedError(RateLimitedError):
    """Not sent: the developer app is suspended (TikTok refused one of its requests, in this process or
    another, and the suspension is being waited out)."""

    def __init__(self, endpoint: str, state: LaneState, now: float) -> None:
        super().__init__(
            endpoint=endpoint,
            code=constants.CODE_REQUEST_TOO_FREQUENT,
            tiktok_message="not sent: the developer app is suspended",
            request_id=None,
        )
        window = "minute" if state.note else "second"
        self.restriction = Restriction(window, state.blocked_until - now, state.note)
        self.message = (
            f"{endpoint} was not sent: TikTok refused a request of this developer app as too frequent "
            f"and its requests wait until {datetime.fromtimestamp(state.blocked_until, UTC):%H:%M:%S} UTC. "
            f"{state.note} {self.hint}".replace("  ", " ")
        )


def _counted(state: LaneState, now: float) -> LaneState:
    """One more request sent at ``now``; a lane idle for long starts its pace afresh."""
    if state.last_request is None or now - state.last_request > IDLE_RESET_SECONDS:
        state = replace(state, since=now, w_max=None, w_cut=None, cut_at=None)
    day = utc_day(now)
    count = state.day_count + 1 if state.day == day else 1
    return replace(state, day=day, day_count=count, last_request=now)


_shared: dict[tuple[int, str, str, Pacing], Budget] = {}
_shared_lock = threading.Lock()


def shared_budget(store: RateStore, app: str, scope: str, pacing: Pacing) -> Budget:
    """The process's budget for ``app`` at ``scope`` (the API's base URL) in ``store``, made on first use."""
    key = (id(store), app, scope, pacing)
    with _shared_lock:
        budget = _shared.get(key)
        if budget is None:
            budget = _shared[key] = Budget(store, app, pacing, scope=scope)
        return budget


class Announcer:
    """Tells the person running the command about a long wait, one line at a time.

    A Python dynamic provider has no channel to the engine's log (``pulumi.log`` there is a pass-through
    to ``print`` and cannot be pickled, pulumi/pulumi#20409), but the CLI shows what the provider host
    writes to stderr as info messages (since 3.146.0, pulumi/pulumi#18253: ``runtrace`` in
    pkg/resource/plugin/plugin.go logs a dynamic provider's stderr with ``Infoerrf``). Several threads
    waiting on the same suspension would say the same thing, so a line is dropped when another was
    written less than ``quiet_seconds`` before.
    """

    def __init__(
        self,
        write: Callable[[str], None] | None = None,
        *,
        quiet_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write or _to_stderr
        self._quiet = quiet_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._last = -math.inf

    def __call__(self, message: str) -> None:
        with self._lock:
            now = self._clock()
            if now - self._last < self._quiet:
                return
            self._last = now
        self._write(message)


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


STDERR_ANNOUNCER = Announcer()
"""The process's announcer: the provider host's and the CLI's stderr."""
