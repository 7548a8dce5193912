"""Device class (`desktop` / `mobile` / `tablet`) from a User-Agent, via ua-parser 1.x.

ua-parser names the device and OS; it has no device class, so we derive one from
those names. The one string test left is Android's convention that phones say
"Mobile" in the User-Agent and tablets do not.
"""

from __future__ import annotations

from functools import lru_cache

import ua_parser

_MOBILE_OS = frozenset(
    {
        "iOS",
        "Android",
        "Windows Phone",
        "BlackBerry OS",
        "BlackBerry Tablet OS",
        "Firefox OS",
        "KaiOS",
        "Symbian OS",
        "Tizen",
        "HarmonyOS",
    }
)
_TABLET_WORDS = ("ipad", "tablet", "kindle", "playbook", "nexus 7", "nexus 9", "nexus 10")


@lru_cache(maxsize=4096)
def device_class(user_agent: str) -> str:
    """`tablet`, `mobile` or `desktop` for `user_agent` (anything unrecognised: desktop)."""
    result = ua_parser.parse(user_agent)
    device = result.device
    family = device.family if device else ""
    brand = (device.brand or "") if device else ""
    os_family = result.os.family if result.os else ""
    label = f"{family} {brand}".lower()
    if any(word in label for word in _TABLET_WORDS):
        return "tablet"
    if os_family == "Android" and "mobile" not in user_agent.lower():
        return "tablet"
    if os_family in _MOBILE_OS or family in ("iPhone", "iPod"):
        return "mobile"
    return "desktop"


def warm_up() -> None:
    """Build ua-parser's matchers now (~0.1 s of CPU, once per process) rather than
    inside the first visitor's hello, which would hold up every socket of the node."""
    ua_parser.parse("")
