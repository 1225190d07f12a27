"""The grammar of ``CASEPILOT_API_KEYS`` and ``CASEPILOT_ALLOWED_ORIGINS``: which keys exist, the sites
(browser origins) each may be used from, and each key's daily quota.

Pure functions; ``casepilot/settings.py`` runs them in its validators, so a bad value stops the program
at start with a message naming the variable, and ``api/security.py`` only reads the parsed result.

``CASEPILOT_API_KEYS`` is a comma-separated list of ``KEY[=SITES][;quota=N]``: SITES is ``*`` (any site)
or origins joined by ``|``; ``quota=N`` allows N requests on ``/v1/`` per UTC day. A key that names no
sites takes those of ``CASEPILOT_ALLOWED_ORIGINS``; while that is ``*`` such a key is refused, because
any website could then use it without anyone having said so (write ``KEY=*`` to mean it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

KEYS_VAR = "CASEPILOT_API_KEYS"
ORIGINS_VAR = "CASEPILOT_ALLOWED_ORIGINS"
# Visible ASCII without the list's own separators: a key travels in a header and a query string.
_KEY = re.compile(r"[!-~]+")
_SEPARATORS = frozenset("=,;|")


@dataclass(frozen=True)
class ApiKey:
    """One API key: the sites it may be called from (None: any) and its requests per UTC day (None: no quota)."""

    key: str
    origins: frozenset[str] | None
    daily_quota: int | None = None

    def allows(self, origin: str) -> bool:
        """True when a browser on ``origin`` (normalised, see ``norm_origin``) may use the key."""
        return self.origins is None or origin in self.origins


def norm_origin(origin: str) -> str:
    """An origin as browsers compare it: no trailing slash, lower case.

    >>> norm_origin(" HTTPS://Site.Example/ ")
    'https://site.example'
    """
    return origin.strip().rstrip("/").lower()


def _check_origin(raw: str, var: str) -> str:
    origin = norm_origin(raw)
    why = ""
    if origin == "null":
        why = " (browsers send it from sandboxed frames and local files, so allowing it would let any such page in)"
    elif "*" in origin:
        why = " (wildcards are not supported: list each site, or use '*' alone for every site)"
    else:
        try:
            parts = urlsplit(origin)
            port_ok = parts.port is None or parts.port > 0
        except ValueError:
            parts, port_ok = None, False
        if (parts and port_ok and parts.scheme in ("http", "https") and parts.hostname and not parts.username
                and not parts.password and not parts.path and not parts.query and not parts.fragment):
            return origin
    raise ValueError(f"{var}: {raw.strip()!r} is not a site origin{why}; write scheme://host[:port], "
                     "e.g. https://site.example or http://localhost:8000")


def parse_origins(spec: str | None, var: str = ORIGINS_VAR) -> frozenset[str] | None:
    """Origins separated by ``,`` or ``|``; ``*`` alone (or nothing) means any site, returned as None.

    >>> sorted(parse_origins("https://a.example, https://B.example/|http://localhost:8000"))
    ['http://localhost:8000', 'https://a.example', 'https://b.example']
    >>> parse_origins("*") is None
    True
    >>> parse_origins("a.example")
    Traceback (most recent call last):
    ...
    ValueError: CASEPILOT_ALLOWED_ORIGINS: 'a.example' is not a site origin; write scheme://host[:port], e.g. https://site.example or http://localhost:8000
    """
    items = [item.strip() for item in (spec or "").replace("|", ",").split(",") if item.strip()]
    if not items or items == ["*"]:
        return None
    if "*" in items:
        raise ValueError(f"{var}: '*' (every site) cannot be listed together with other sites; use one or the other")
    return frozenset(_check_origin(item, var) for item in items)


def _label(key: str, position: int) -> str:
    """How an error names a key without printing all of it (a key may be a server's secret)."""
    return f"entry {position} ({key[:4]}…)" if len(key) > 8 else f"entry {position}"


def parse_api_keys(spec: str | None, default_origins: frozenset[str] | None = None) -> tuple[ApiKey, ...]:
    """``KEY[=SITES][;quota=N]`` entries separated by commas; a key naming no sites gets ``default_origins``.

    >>> k1, k2 = parse_api_keys("k1=https://a.example|https://B.example/;quota=500,k2=*")
    >>> sorted(k1.origins), k1.daily_quota, k2.origins, k2.daily_quota
    (['https://a.example', 'https://b.example'], 500, None, None)
    >>> parse_api_keys("k3", default_origins=frozenset({"https://c.example"}))[0].origins
    frozenset({'https://c.example'})
    >>> parse_api_keys("k3")
    Traceback (most recent call last):
    ...
    ValueError: CASEPILOT_API_KEYS: entry 1 names no sites and CASEPILOT_ALLOWED_ORIGINS is '*', so any website could use that key; name its sites (KEY=https://site.example), set CASEPILOT_ALLOWED_ORIGINS, or write KEY=* to allow every site on purpose
    """
    keys: list[ApiKey] = []
    seen: set[str] = set()
    entries = [entry.strip() for entry in (spec or "").split(",")]
    if spec is not None and spec.strip() and not any(entries):
        raise ValueError(f"{KEYS_VAR}: {spec.strip()!r} holds no key")
    for position, entry in enumerate((e for e in entries if e), start=1):
        head, *options = (part.strip() for part in entry.split(";"))
        key, has_sites, sites = (part.strip() for part in head.partition("="))
        if not key:
            raise ValueError(f"{KEYS_VAR}: entry {position} has no key before '='")
        if not _KEY.fullmatch(key) or _SEPARATORS & set(key):
            raise ValueError(f"{KEYS_VAR}: {_label(key, position)}: a key is visible ASCII characters without "
                             "spaces or any of = , ; |")
        where = _label(key, position)
        if key in seen:
            raise ValueError(f"{KEYS_VAR}: {where} repeats an earlier key; list each key once")
        seen.add(key)
        quota = None
        for option in options:
            name, _, value = (part.strip() for part in option.partition("="))
            if name != "quota":
                raise ValueError(f"{KEYS_VAR}: {where}: unknown option {name!r}; the one option is quota=N "
                                 "(requests per UTC day)")
            if quota is not None:
                raise ValueError(f"{KEYS_VAR}: {where}: quota is given twice")
            if not value.isdigit() or int(value) < 1:
                raise ValueError(f"{KEYS_VAR}: {where}: quota must be a whole number of requests per day, at "
                                 f"least 1 (got {value!r}); to stop a key, remove it")
            quota = int(value)
        if has_sites and sites:
            origins = parse_origins(sites, f"{KEYS_VAR} {where}")
        elif default_origins is not None:
            origins = default_origins
        else:
            raise ValueError(f"{KEYS_VAR}: {where} names no sites and {ORIGINS_VAR} is '*', so any website could "
                             f"use that key; name its sites (KEY=https://site.example), set {ORIGINS_VAR}, or "
                             "write KEY=* to allow every site on purpose")
        keys.append(ApiKey(key, origins, quota))
    return tuple(keys)
