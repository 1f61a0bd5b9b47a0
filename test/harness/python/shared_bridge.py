"""Test support: one real local bridge and one fake DingTalk per test process, shared by every
test module in it, with app names handed out one per test.

    bridge, dingtalk = shared_bridge.start({"MAX_ATTEMPTS": "3"})   # the first call starts them
    app = shared_bridge.next_app()
    client, app = shared_bridge.client_for("gw-1")                   # a client of a fresh app

Both stop when the process exits. Standard library only; needs `npm ci` at the repository root.
"""

import atexit
import itertools

from fake_dingtalk import FakeDingTalk
from local_bridge import LocalBridge, token_for

#: What the client tests run the bridge with: few attempts, so dead letters come quickly.
CLIENT_TEST_ENV = {"MAX_ATTEMPTS": "3", "WEBHOOK_SILENCE_MS": "300"}

POOL = ["py%d" % i for i in range(80)]
_started = {}
_names = iter(POOL)
_counter = itertools.count()


def start(extra_env=None):
    """(bridge, dingtalk), started on the first call with ``extra_env``; later calls must ask for
    the same variables, since one bridge serves them all."""
    extra_env = dict(extra_env or {})
    if _started:
        if _started["env"] != extra_env:
            raise AssertionError("the shared bridge runs with %r, not %r" % (_started["env"], extra_env))
        return _started["bridge"], _started["dingtalk"]
    dingtalk = FakeDingTalk(POOL)
    try:
        bridge = LocalBridge(POOL, dict(extra_env, DINGTALK_API_BASE=dingtalk.url))
    except Exception:
        dingtalk.stop()
        raise
    _started.update(env=extra_env, bridge=bridge, dingtalk=dingtalk)
    atexit.register(_stop)
    return bridge, dingtalk


def next_app():
    """An app name no other test of this process has had; fails loudly when the pool runs dry."""
    name = next(_names, None)
    if name is None:
        raise AssertionError("the shared bridge's %d app names are used up: add to POOL" % len(POOL))
    return name


def client_for(consumer="py-gw", app=None):
    """A blocking client of the shared bridge (started with CLIENT_TEST_ENV if it was not yet) for
    ``app``, or a fresh app; and the app's name."""
    from dingtalk_bridge import BridgeClient

    bridge, _ = start(CLIENT_TEST_ENV) if not _started else (_started["bridge"], None)
    app = app or next_app()
    return BridgeClient(bridge.url, token_for(app), app=app, consumer=consumer), app


def _stop():
    _started["bridge"].stop()
    _started["dingtalk"].stop()
