"""Small checks shared by the modules: integers and numbers as decoded by msgpack, and
loopback addresses.

Python's ``bool`` is an ``int``; on the wire a bool is neither an integer nor a float, and a
float is never an integer, even when integral [HEAD-4].
"""

import ipaddress
from typing import Any


def is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """An integer or a float: accepted wherever a float is expected [HEAD-3]."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback IP address or ``localhost`` (other names are not resolved:
    they count as not)."""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback
