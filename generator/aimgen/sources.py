"""Where a deployment's model comes from, checked once at the CLI edge: the Hub (or a mirror of it) that the cache
fills from, or weights that already sit somewhere KServe's storage initializer reads (docs/cache.md).

Only rules and parsing live here (no I/O): the CLI turns a bad value into exit 2, the chart's schema applies the
same patterns (`aimgen chart sync` writes them into values.schema.json), the renderers read the parsed result.
"""

from __future__ import annotations

import re

from aimgen import secrets
from aimgen.errors import UsageError

# An http(s) Hub endpoint: scheme, host (a name or a bracketed IPv6 address), an optional port and path; no
# user:password@ (a credential belongs in a Secret), no query or fragment (huggingface_hub appends its own paths).
_PORT = r"([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"  # 1-65535
HUB_ENDPOINT_PATTERN = (r"^https?://([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(:" + _PORT +
                        r")?(/[^\s?#@]*)?$")
_HUB_ENDPOINT = re.compile(HUB_ENDPOINT_PATTERN)
HTTPS_PORT = 443
HTTP_PORT = 80


def hub_endpoint(value: str | None, option: str = "--hf-endpoint") -> str | None:
    """The endpoint as given (a trailing slash dropped), or None; UsageError naming what would be valid. The value
    is never echoed when it may carry a credential."""
    if not value:
        return None
    shown = secrets.redact_url(value)
    if "@" in value.split("://", 1)[-1].split("/", 1)[0] or secrets.looks_like_secret(value):
        raise UsageError(f"{option} {shown!r} carries a credential; give the mirror's plain URL (e.g. "
                         f"https://hf-mirror.example.com); {secrets.INSTEAD}")
    if not _HUB_ENDPOINT.match(value):
        raise UsageError(f"{option} {shown!r} is not an http(s) URL of a Hub endpoint: expected "
                         "http[s]://HOST[:PORT][/PATH] with no query, e.g. https://hf-mirror.example.com")
    return value.rstrip("/")


def hub_port(endpoint: str | None) -> int:
    """The TCP port a Hub endpoint listens on (huggingface.co: 443)."""
    if not endpoint:
        return HTTPS_PORT
    authority = endpoint.split("://", 1)[1].split("/", 1)[0]
    port = re.search(r":([0-9]+)$", authority)
    if port:
        return int(port.group(1))
    return HTTP_PORT if endpoint.startswith("http://") else HTTPS_PORT


def hub_egress_ports(endpoint: str | None) -> list[int]:
    """Ports the prefetch containers need out: the endpoint's, and 443 always (huggingface_hub follows the Hub's
    and most mirrors' redirects of large files to an HTTPS CDN or object store)."""
    return sorted({HTTPS_PORT, hub_port(endpoint)})
