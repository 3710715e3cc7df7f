"""Training slots on Redis, for replicas on several machines: the same interface as explorer.slots.TrainingSlots.

With `VAE_EXPLORER_REDIS_URL` set, `shared_slots()` (which explorer.training uses) returns a RedisSlots, so
the limit of `VAE_EXPLORER_MAX_TRAINING` runs at once holds across every machine that uses the server. A slot
is a **lease**: a member of the sorted set `<prefix>held` scored by when it lapses (Redis's own clock, so the
machines' clocks do not matter). A heartbeat thread renews it every lease/3 seconds while the run trains, so
a replica that dies (SIGKILL, power cut, network gone) gives its slot back within one lease. Runs that find
no free slot queue in first-come order in `<prefix>queue`; each waiter renews its own place every poll, and
a waiter that stops renewing leaves the queue after one lease. Every step is one Lua script, so two replicas
never both take the last slot.

    SLOTS = RedisSlots(url, n)
    with SLOTS.hold(run_id):        # waits for a slot, holds it for the block
        ...
    SLOTS.ahead(run_id)             # runs waiting ahead of this one
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from vae_core.errors import ConfigError

from .class_store import REDIS_URL_ENV, StoreUnavailable, _both, check_redis_url, redis_url

POLL_SECONDS = 0.25
LEASE_SECONDS = 15.0
OUTAGE_SECONDS = 30.0  # a waiter rides out a Redis restart this long before its run fails with the reason

# KEYS: held (token -> lease end, ms), queue (token -> ticket number), wlease (waiter -> lease end, ms), counter
_CLEAN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)) do
  redis.call('ZREM', KEYS[2], gone)
  redis.call('ZREM', KEYS[3], gone)
end
"""

# ARGV: token, n, lease ms, 'try' or 'wait'. Returns {1, 0} when the slot is taken, else {0, runs ahead}.
_ACQUIRE = (
    _CLEAN
    + """
local token, n, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if redis.call('ZSCORE', KEYS[1], token) then
  redis.call('ZADD', KEYS[1], now + lease, token)
  return {1, 0}
end
local queued = redis.call('ZSCORE', KEYS[2], token)
local ahead
if queued then ahead = redis.call('ZRANK', KEYS[2], token) else ahead = redis.call('ZCARD', KEYS[2]) end
if ahead == 0 and redis.call('ZCARD', KEYS[1]) < n then
  redis.call('ZADD', KEYS[1], now + lease, token)
  redis.call('ZREM', KEYS[2], token)
  redis.call('ZREM', KEYS[3], token)
  return {1, 0}
end
if ARGV[4] == 'wait' then
  if not queued then redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), token) end
  redis.call('ZADD', KEYS[3], now + lease, token)
end
return {0, ahead}
"""
)

# ARGV: token, n, lease ms. Renews a held lease; one that lapsed (a replica stalled past it) is taken again
# only if a slot is free. Returns 1 when the token holds a slot afterwards.
_RENEW = (
    _CLEAN
    + """
local token, n, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if redis.call('ZSCORE', KEYS[1], token) or redis.call('ZCARD', KEYS[1]) < n then
  redis.call('ZADD', KEYS[1], now + lease, token)
  return 1
end
return 0
"""
)

_RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
"""

# Returns {number of held slots, the live queue's tokens in order}.
_STATE = (
    _CLEAN
    + """
return {redis.call('ZCARD', KEYS[1]), redis.call('ZRANGE', KEYS[2], 0, -1)}
"""
)


def _safe(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "", run_id)[:40]


class RedisSlots:
    """n training slots as leases on a Redis server; acquire one with `hold()`. Safe across threads, processes
    and machines."""

    def __init__(
        self,
        url: str,
        n: int,
        lease: float = LEASE_SECONDS,
        prefix: str = "vae-explorer:slots:",
        client=None,
        outage: float = OUTAGE_SECONDS,
    ) -> None:
        import redis

        if n < 1:
            raise ConfigError(f"the number of training slots must be 1 or more, not {n}")
        if not lease > 0:
            raise ConfigError(f"a slot's lease must be more than 0 seconds, not {lease}")
        self.url = check_redis_url(url)
        self.n = n
        self.lease = float(lease)
        self.outage = float(outage)
        self._keys = [f"{prefix}held", f"{prefix}queue", f"{prefix}wlease", f"{prefix}tickets"]
        self._redis = client or redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=3)
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._renew = self._redis.register_script(_RENEW)
        self._release = self._redis.register_script(_RELEASE)
        self._state = self._redis.register_script(_STATE)

    def _call(self, script, *args):
        import redis

        try:
            return script(keys=self._keys, args=list(args))
        except redis.RedisError as exc:
            raise StoreUnavailable(
                _both(
                    "the training slots' Redis server cannot be reached ({e}): check {v}",
                    "학습 자리를 관리하는 Redis 서버에 연결할 수 없습니다 ({e}): {v} 설정을 확인하세요",
                    e=type(exc).__name__,
                    v=REDIS_URL_ENV,
                )
            ) from exc

    def _token(self, run_id: str | None) -> str:
        return f"{_safe(run_id) if run_id else ''}:{secrets.token_hex(6)}"

    def _take(self, token: str, mode: str) -> tuple[bool, int]:
        got, ahead = self._call(self._acquire, token, self.n, int(self.lease * 1000), mode)
        return bool(got), int(ahead)

    def try_acquire(self, run_id: str | None = None) -> str | None:
        """A held slot's token (release it with `release`), or None if all n are taken or runs wait."""
        token = self._token(run_id)
        return token if self._take(token, "try")[0] else None

    def release(self, token: str) -> None:
        self._call(self._release, token)

    def _queue(self) -> tuple[int, list[str]]:
        held, queue = self._call(self._state)
        return int(held), [t.decode() for t in queue]

    def busy(self) -> int:
        """How many slots are held now (by any replica on any machine)."""
        return self._queue()[0]

    def waiting(self) -> int:
        """How many runs wait for a slot."""
        return len(self._queue()[1])

    def ahead(self, run_id: str) -> int:
        """Runs waiting ahead of this one (0 when it holds a slot, is first in line, or is unknown)."""
        mark = f"{_safe(run_id)}:"
        queue = self._queue()[1]
        return next((i for i, token in enumerate(queue) if token.startswith(mark)), 0)

    @contextmanager
    def hold(
        self,
        run_id: str | None = None,
        cancel: threading.Event | None = None,
        waiting: Callable[[int], None] | None = None,
        poll: float = POLL_SECONDS,
    ) -> Iterator[str | None]:
        """Wait for a slot in first-come order and hold it for the block (renewed by a heartbeat thread);
        yields None if `cancel` is set while waiting. `waiting(ahead)` is called whenever the number of runs
        ahead changes."""
        token = self._token(run_id)
        got = self._wait(token, cancel, waiting, poll)
        if not got:
            yield None
            return
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(token, stop), name=f"slot-lease-{token}", daemon=True)
        beat.start()
        try:
            yield token
        finally:
            stop.set()
            beat.join(5)
            try:
                self.release(token)
            except StoreUnavailable:
                pass  # the lease lapses by itself

    def _wait(self, token, cancel, waiting, poll) -> bool:
        last, down_since = None, None
        try:
            while cancel is None or not cancel.is_set():
                try:
                    got, ahead = self._take(token, "wait")
                except StoreUnavailable:
                    down_since = down_since or time.monotonic()
                    if time.monotonic() - down_since > self.outage:
                        raise
                    time.sleep(poll)
                    continue
                down_since = None
                if got:
                    return True
                if ahead != last and waiting is not None:
                    waiting(ahead)
                last = ahead
                time.sleep(poll)
            self.release(token)  # leave the queue
            return False
        except BaseException:
            try:
                self.release(token)
            except StoreUnavailable:
                pass  # the waiter's place lapses by itself
            raise

    def _heartbeat(self, token: str, stop: threading.Event) -> None:
        while not stop.wait(self.lease / 3):
            try:
                self._call(self._renew, token, self.n, int(self.lease * 1000))
            except StoreUnavailable:
                pass  # try again at the next beat; the lease covers two missed beats


def shared_slots(models_folder: str | Path, n: int):
    """The training slots every replica shares: on Redis when VAE_EXPLORER_REDIS_URL is set, else lock files in
    `<models>/.slots` (explorer.slots, one machine)."""
    url = redis_url()
    if url:
        return RedisSlots(url, n)
    from .slots import TrainingSlots

    return TrainingSlots(Path(models_folder) / ".slots", n)
