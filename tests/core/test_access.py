"""CASEPILOT_API_KEYS and CASEPILOT_ALLOWED_ORIGINS are parsed by the settings (casepilot/access.py): clear errors
naming the variable, and the unsafe combination (a key naming no sites while any site is allowed) refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from casepilot.access import ApiKey, parse_api_keys, parse_origins
from casepilot.settings import Settings

A, B, C = "https://a.example", "https://b.example", "https://c.example"


def test_keys_with_sites_quotas_and_any_site():
    keys = parse_api_keys(f" k1 = {A}|HTTPS://B.example/ ; quota = 500 , k2=* ,k3={C};quota=1000,")
    assert keys == (ApiKey("k1", frozenset({A, B}), 500), ApiKey("k2", None, None), ApiKey("k3", frozenset({C}), 1000))
    assert keys[0].allows(A) and not keys[0].allows(C) and keys[1].allows("https://evil.example")


def test_a_key_naming_no_sites_takes_the_allowed_origins():
    s = Settings(api_keys="k1;quota=10,k2=", allowed_origins=f"{B}|{A}/")
    assert s.allowed_origin_set == frozenset({A, B})
    assert [(k.key, k.origins, k.daily_quota) for k in s.api_key_list] == [
        ("k1", frozenset({A, B}), 10), ("k2", frozenset({A, B}), None)]
    assert Settings().api_key_list == () and Settings().allowed_origin_set is None  # the open local default


@pytest.mark.parametrize("keys", ["pk_live_12345", "pk_live_12345=", f"k1={A},pk_live_12345;quota=5"])
def test_a_key_naming_no_sites_while_any_site_is_allowed_is_refused(monkeypatch, keys):
    """Unsafe: any website could use the key, and nobody said so (KEY=* says so)."""
    monkeypatch.setenv("CASEPILOT_API_KEYS", keys)
    monkeypatch.setenv("CASEPILOT_LLM_API_KEY", "sk-secret-987")
    with pytest.raises(ValidationError) as exc:
        Settings()
    text = str(exc.value)
    assert "CASEPILOT_API_KEYS" in text and "names no sites" in text and "CASEPILOT_ALLOWED_ORIGINS is '*'" in text
    # an error never prints a whole key, nor (pydantic's input echo) any other secret
    assert "pk_live_12345" not in text and "sk-secret-987" not in text
    monkeypatch.setenv("CASEPILOT_ALLOWED_ORIGINS", A)  # ... fine once the sites are named
    assert Settings().api_key_list[-1].origins == frozenset({A})
    monkeypatch.setenv("CASEPILOT_ALLOWED_ORIGINS", "*")
    monkeypatch.setenv("CASEPILOT_API_KEYS", keys.rstrip("=").replace("_12345", "_12345=*"))
    assert Settings().api_key_list[-1].origins is None  # ... or every site, on purpose


@pytest.mark.parametrize("spec, says", [
    ("=https://a.example", "entry 1 has no key"),
    ("k1=https://a.example,k1=https://b.example", "repeats an earlier key"),
    ("k1=https://a.example;quota=0", "quota must be a whole number"),
    ("k1=https://a.example;quota=lots", "got 'lots'"),
    ("k1=https://a.example;quota=5;quota=6", "quota is given twice"),
    ("k1=https://a.example;limit=5", "unknown option 'limit'"),
    ("k1=a.example", "'a.example' is not a site origin"),
    ("k1=https://a.example/widget", "is not a site origin"),
    ("k1=https://*.example", "wildcards are not supported"),
    ("k1=null", "sandboxed frames"),
    ("k1=https://a.example|*", "cannot be listed together"),
    ("key with space=https://a.example", "visible ASCII"),
    (" , ,", "holds no key"),
])
def test_bad_keys_are_refused_naming_the_variable(monkeypatch, spec, says):
    monkeypatch.setenv("CASEPILOT_API_KEYS", spec)
    with pytest.raises(ValidationError) as exc:
        Settings()
    assert "CASEPILOT_API_KEYS" in str(exc.value) and says in str(exc.value), str(exc.value)


@pytest.mark.parametrize("spec, says", [
    ("a.example", "'a.example' is not a site origin"),
    ("ftp://a.example", "is not a site origin"),
    ("https://a.example?x=1", "is not a site origin"),
    ("https://a.example:99999", "is not a site origin"),
    ("https://a.example,*", "cannot be listed together"),
    ("null", "sandboxed frames"),
])
def test_bad_allowed_origins_are_refused_naming_the_variable(monkeypatch, spec, says):
    monkeypatch.setenv("CASEPILOT_ALLOWED_ORIGINS", spec)
    with pytest.raises(ValidationError) as exc:
        Settings()
    assert "CASEPILOT_ALLOWED_ORIGINS" in str(exc.value) and says in str(exc.value), str(exc.value)


def test_origins_are_normalized_once_in_the_settings():
    s = Settings(allowed_origins=f" HTTPS://B.example/ | {A} ,http://localhost:8000")
    assert s.allowed_origins == f"http://localhost:8000,{A},{B}"
    assert s.allowed_origin_set == frozenset({A, B, "http://localhost:8000"})
    assert parse_origins("") is None and parse_origins(" * ") is None


@pytest.mark.parametrize("uri, ok", [("memory://", True), ("redis://127.0.0.1:6379/0", True),
                                     ("rediss://:pw@cache.internal:6380", True), ("redis+unix:///run/r.sock", True),
                                     ("memcached://x:11211", False), ("127.0.0.1:6379", False)])
def test_ratelimit_storage_is_memory_or_redis(monkeypatch, uri, ok):
    monkeypatch.setenv("CASEPILOT_RATELIMIT_STORAGE", uri)
    if ok:
        assert Settings().ratelimit_storage == uri
        return
    with pytest.raises(ValidationError) as exc:
        Settings()
    assert "CASEPILOT_RATELIMIT_STORAGE" in str(exc.value)
