"""The relay's settings: ``platforms.dingtalk.extra`` first, then the environment, as Hermes reads
its other DingTalk settings (``client_secret`` / ``DINGTALK_CLIENT_SECRET``)."""

import os
from typing import Any, Callable, Dict, Optional

MODES = ("off", "hedge", "only")


def settings_from(extra: Dict[str, Any], default_consumer: Callable[[], str],
                  env: Optional[Dict[str, str]] = None) -> Optional[Dict[str, Any]]:
    """The bridge settings, or None when no bridge is configured."""
    env = os.environ if env is None else env
    url = str(extra.get("bridge_url") or env.get("DINGTALK_BRIDGE_URL") or "").strip()
    mode = str(extra.get("bridge_mode") or env.get("DINGTALK_BRIDGE_MODE") or "hedge").strip().lower()
    if not url or mode == "off":
        return None
    return {
        "url": url,
        "mode": mode,
        "app": str(extra.get("bridge_app") or env.get("DINGTALK_BRIDGE_APP") or "default"),
        "token": str(extra.get("bridge_token") or env.get("DINGTALK_BRIDGE_TOKEN") or env.get("DTBRIDGE_TOKEN") or ""),
        "consumer": str(extra.get("bridge_consumer") or "") or default_consumer(),
        "journal": str(extra.get("bridge_journal") or ""),
        "heartbeat_s": float(extra.get("bridge_heartbeat_s") or 15.0),
        "concurrency": int(extra.get("bridge_concurrency") or 4),
    }


def consumer_for(host_consumer: str, home: Optional[str] = None) -> str:
    """``<hostname>-hermes``, plus the profile when the Hermes home is not the default one: stable
    across restarts (so a restart takes its own leases back at once) and different per gateway."""
    name = os.path.basename((home or hermes_home()).rstrip("/"))
    profile = "" if name in ("", ".hermes", "hermes") else "-" + "".join(c if c.isalnum() or c in "._-" else "-" for c in name)
    return (host_consumer + profile)[:128]


def hermes_home() -> str:
    try:
        from hermes_constants import get_hermes_home
        return str(get_hermes_home())
    except Exception:
        return os.environ.get("HERMES_HOME") or os.path.join(os.path.expanduser("~"), ".hermes")
