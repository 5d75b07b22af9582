"""Server-side request forgery guard for outbound HTTP: refuse addresses inside the network.

Every address a host name resolves to is checked, and the connection is made to the checked address
itself (so a second DNS answer cannot swap in an internal one: no DNS rebinding). Redirects open new
connections, which are checked the same way. Hosts on the allow-list (``host`` or ``host:port``, from
``WORKFLOWS_HTTP_ALLOW_HOSTS``) skip the address check.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

Resolver = Callable[[str, int], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata endpoints, named so the refusal says what they are (all are also non-global addresses).
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"): "cloud metadata service",
    ipaddress.ip_address("169.254.170.2"): "container credentials service",
    ipaddress.ip_address("fd00:ec2::254"): "cloud metadata service",
    ipaddress.ip_address("100.100.100.200"): "cloud metadata service",
    ipaddress.ip_address("192.0.0.192"): "cloud metadata service",
}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class ForbiddenAddress(Exception):
    """The destination is inside the network and not on the allow-list."""


def forbidden_reason(address: IPAddress) -> str | None:
    """Why an address may not be called (None when it is a public address)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            inner = forbidden_reason(embedded)
            return f"{inner} (embedded in {address})" if inner else None
    if address in METADATA_ADDRESSES:
        return METADATA_ADDRESSES[address]
    for label, flag in (("loopback", address.is_loopback), ("private", address.is_private),
                        ("link-local", address.is_link_local), ("multicast", address.is_multicast),
                        ("reserved", address.is_reserved), ("unspecified", address.is_unspecified)):
        if flag:
            return f"a {label} address"
    if not address.is_global:
        return "not a public address"
    return None


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolves a host to, in its order."""
    seen: list[str] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = str(sockaddr[0]).split("%", 1)[0]
        if address not in seen:
            seen.append(address)
    return seen


def parse_allow_list(entries: Iterable[str]) -> frozenset[tuple[str, int | None]]:
    """``host`` or ``host:port`` (``[v6]:port``) entries as (lower-case host, port or None)."""
    parsed: set[tuple[str, int | None]] = set()
    for raw in entries:
        entry = raw.strip().lower()
        if not entry:
            continue
        host, port = entry, None
        if entry.startswith("["):
            host, _, rest = entry[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") else None
        elif entry.count(":") == 1:
            host, raw_port = entry.split(":")
            port = int(raw_port)
        parsed.add((host, port))
    return frozenset(parsed)


@dataclass(frozen=True)
class Guard:
    """Checks destinations against the allow-list and the forbidden address ranges."""

    allow: frozenset[tuple[str, int | None]] = frozenset()
    resolver: Resolver = system_resolver
    # When given, the allow-list in force now (the runtime settings), read on every check instead of ``allow``.
    allow_source: Callable[[], frozenset[tuple[str, int | None]]] | None = None

    def allows_host(self, host: str, port: int) -> bool:
        """True when the host (with this port, or any port) is on the allow-list."""
        name = host.strip("[]").lower().rstrip(".")
        allow = self.allow_source() if self.allow_source is not None else self.allow
        return (name, port) in allow or (name, None) in allow

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses to connect to; ForbiddenAddress when any of them is inside the network."""
        name = host.strip("[]").rstrip(".")
        try:
            found = [name] if _is_ip(name) else self.resolver(name, port)
        except OSError as exc:
            raise ConnectionError(f"cannot resolve {name}: {exc}") from exc
        if not found:
            raise ConnectionError(f"{name} resolves to no address")
        if self.allows_host(name, port):
            return found
        for text in found:
            reason = forbidden_reason(ipaddress.ip_address(text))
            if reason:
                raise ForbiddenAddress(
                    f"{name}:{port} resolves to {text}, {reason}: outbound calls inside the network are "
                    f"refused unless the host is on the HTTP allow-list (settings page or WORKFLOWS_HTTP_ALLOW_HOSTS)")
        return found


class AllowListSource:
    """The allow-list in force now, read from ``entries()`` (the runtime settings) and parsed once per change."""

    def __init__(self, entries: Callable[[], tuple[str, ...]]) -> None:
        self._entries = entries
        self._seen: tuple[str, ...] | None = None
        self._parsed: frozenset[tuple[str, int | None]] = frozenset()

    def __call__(self) -> frozenset[tuple[str, int | None]]:
        hosts = self._entries()
        if hosts != self._seen:
            self._parsed, self._seen = parse_allow_list(hosts), hosts
        return self._parsed


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def guarded_session(guard: Guard, max_redirects: int = 5) -> requests.Session:
    """A requests session whose every connection (redirects too) goes to an address the guard checked."""

    class _Connect:
        def _new_conn(self):  # type: ignore[no-untyped-def]
            name = getattr(self, "_guarded_name", None) or self._dns_host
            self._guarded_name = name
            last: Exception | None = None
            for address in guard.addresses(name, self.port):
                self._dns_host = address  # connect to the checked address; TLS still verifies the host name
                try:
                    return super()._new_conn()
                except OSError as exc:  # urllib3's connection errors; try the next address
                    last = exc
            assert last is not None
            raise last

    class _HTTPConnection(_Connect, HTTPConnection):
        pass

    class _HTTPSConnection(_Connect, HTTPSConnection):
        pass

    class _HTTPPool(HTTPConnectionPool):
        ConnectionCls = _HTTPConnection

    class _HTTPSPool(HTTPSConnectionPool):
        ConnectionCls = _HTTPSConnection

    class _Adapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    session = requests.Session()
    session.trust_env = False  # a proxy from the environment would hide the real destination
    session.max_redirects = max_redirects
    adapter = _Adapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
