"""Checks shared by the feedback tests: what the stream holds, and that no address is in it."""

from __future__ import annotations

import ipaddress
import re

import redis

from animerec_assets.lib.feedback.stream import FeedbackKeys

IP_LIKE = re.compile(r"\b\d{1,3}(\.\d{1,3}){3}\b|[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}", re.I)


def stored_entries(client: redis.Redis, keys: FeedbackKeys) -> list[tuple[str, dict[str, str]]]:
    """The stream's entries, oldest first, decoded."""
    return [
        (entry_id.decode(), {k.decode(): v.decode() for k, v in fields.items()})
        for entry_id, fields in client.xrange(keys.stream)
    ]


def assert_no_address(value: str) -> None:
    """Fail if ``value`` contains anything that parses as an IPv4 or IPv6 address."""
    for match in IP_LIKE.finditer(value):
        try:
            ipaddress.ip_address(match.group(0))
        except ValueError:
            continue
        raise AssertionError(f"an IP address is stored: {value!r}")


def assert_no_address_under(client: redis.Redis, keys: FeedbackKeys) -> int:
    """Check every key under the feedback root, and every field and value it holds.

    Returns how many values were checked (so a caller can tell the check saw something).
    """
    checked = 0
    for key in client.scan_iter(match=f"{keys.root}:*"):
        assert_no_address(key.decode())
        if client.type(key) == b"stream":
            for entry_id, fields in client.xrange(key):
                assert_no_address(entry_id.decode())
                for name, value in fields.items():
                    assert_no_address(name.decode())
                    assert_no_address(value.decode())
                    checked += 1
        else:
            value = client.get(key)
            assert value is not None and value.isdigit(), (key, value)  # only counts
            checked += 1
    return checked
