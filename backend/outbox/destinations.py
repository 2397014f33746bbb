"""Where webhooks may go (SSRF): a subscription URL names an allowed host, and every address it resolves to is
public unless the allowlist names that address itself. Checked when a subscription is created and again at every
delivery (the name may resolve elsewhere by then), and the delivery connects to an address checked here.

TOEZICHT_WEBHOOK_ALLOWED_HOSTS entries: a host name (`hooks.example.nl`), every subdomain of one
(`*.example.nl`), any host (`*`), an IP address (`192.0.2.10`) or a network (`10.20.0.0/16`). Only an address
or network entry lets in a private, loopback, link-local or otherwise non-public address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Refused(Exception):
    """The URL or one of its addresses is not a place webhooks may go; the message says why, without internals."""


@dataclass(frozen=True)
class Allowlist:
    names: frozenset[str]
    suffixes: tuple[str, ...]
    any_host: bool
    networks: tuple[IpNetwork, ...]

    @classmethod
    def of(cls, entries: tuple[str, ...]) -> Allowlist:
        names, suffixes, networks, any_host = set(), [], [], False
        for entry in (e.strip().lower().rstrip(".") for e in entries):
            if entry == "*":
                any_host = True
            elif entry.startswith("*."):
                suffixes.append(entry[1:])
            else:
                try:
                    networks.append(ipaddress.ip_network(entry, strict=False))
                except ValueError:
                    names.add(entry)
        return cls(frozenset(names), tuple(suffixes), any_host, tuple(networks))

    def names_host(self, host: str) -> bool:
        literal = _address(host)
        if literal is not None:  # `*` lets in any address literal; `resolve` then refuses a non-public one
            return self.any_host or self.names_address(literal)
        return self.any_host or host in self.names or host.endswith(self.suffixes)

    def names_address(self, address: IpAddress) -> bool:
        return any(address in network for network in self.networks)


def _address(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _public(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def checked_url(url: str, allowlist: Allowlist, *, allow_http: bool) -> SplitResult:
    """The URL's parts when its form and host are acceptable (addresses are checked by `resolve`)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("The URL is not a valid URL.") from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        raise Refused("The URL must use https.")
    if not parts.hostname:
        raise Refused("The URL names no host.")
    if parts.username is not None or parts.password is not None:
        raise Refused("The URL must not carry credentials.")
    if parts.fragment:
        raise Refused("The URL must not have a fragment.")
    if port == 0:
        raise Refused("The URL's port is not valid.")
    if not allowlist.names_host(parts.hostname):
        raise Refused("The URL's host is not in the allowed webhook hosts (TOEZICHT_WEBHOOK_ALLOWED_HOSTS).")
    return parts


async def resolve(parts: SplitResult, allowlist: Allowlist) -> list[str]:
    """Every address the URL's host resolves to, each public or named by the allowlist; else Refused."""
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    literal = _address(host)
    if literal is not None:  # nothing to resolve (and no thread hop for it)
        if not (_public(literal) or allowlist.names_address(literal)):
            raise Refused("The URL's host is a private, loopback or link-local address.")
        return [str(literal)]
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise Refused("The URL's host does not resolve.") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not (_public(address) or allowlist.names_address(address)):
            raise Refused("The URL's host resolves to a private, loopback or link-local address.")
    if not addresses:
        raise Refused("The URL's host does not resolve.")
    return addresses
