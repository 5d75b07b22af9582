"""Failed authentications per client address, for the events edge: the same counters (``limits``' fixed window,
prefix ``wf:rl``, scope ``failed-auth``, the address hashed) that the API's abuse limits keep
(``plugin.api.http.abuse_limits``), so guesses at either face count toward one limit, and an address over it is
refused on both (429) until its window ends, even with a valid key.
"""

from __future__ import annotations

import hashlib
import math
import time

from limits import parse
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter

from plugin.config import Settings
from plugin.errors import PluginError

SCOPE = "failed-auth"
KEY_PREFIX = "wf:rl"


class TooManyFailures(PluginError):
    """The address failed to authenticate too often; ``details.retry_after`` says when to try again."""

    status = 429
    code = "rate_limited"


def _digest(address: str) -> str:
    return hashlib.sha256(address.encode()).hexdigest()[:32]


class FailedAuthLimit:
    """Refuse a blocked address; count a failed authentication."""

    def __init__(self, settings: Settings) -> None:
        self.item = parse(settings.rate_limit_failed_auth) if settings.rate_limit_failed_auth else None
        url = settings.effective_redis_url
        uri = "redis+" + url if url.startswith("unix://") else url
        self._limiter = FixedWindowRateLimiter(RedisStorage(uri, key_prefix=KEY_PREFIX, socket_timeout=5))

    def refuse_blocked(self, address: str) -> None:
        """429 when the address is over its limit."""
        if self.item is not None and not self._limiter.test(self.item, SCOPE, _digest(address)):
            reset = self._limiter.get_window_stats(self.item, SCOPE, _digest(address)).reset_time
            retry_after = max(1, math.ceil(reset - time.time()))
            raise TooManyFailures(f"Too many failed authentications from this address (the limit is {self.item}); "
                                  f"try again in {retry_after} s",
                                  {"retry_after": retry_after, "limit": str(self.item)})

    def count(self, address: str) -> None:
        """One more failed authentication of the address."""
        if self.item is not None:
            self._limiter.hit(self.item, SCOPE, _digest(address))
