"""Runs Hermes's DingTalk platform the way the gateway does, with a stub agent (test support).

    python3 hermes_harness.py CONFIG.json

CONFIG: {"hermes": a Hermes tree (a checkout, or stub_hermes/), "sdk": optional path holding
dingtalk_stream, "plugin_dir": optional directory loaded as the bundled DingTalk plugin (the patch
tests) instead of discovering plugins, "extra": platforms.dingtalk.extra, "env": extra environment
(HERMES_HOME among it), "turns": file the stub agent appends each turn to (and each
``on_processing_complete`` that returned, as ``{"completed": ...}``), "reply": optional reply
text, "agent_s": seconds each turn takes, "hang_on": text whose turn never ends, "kill_on_turn": a
msgId whose turn starts with SIGKILL, "kill_after_complete": a msgId: SIGKILL right after
on_processing_complete returned for it}.

Without "plugin_dir", plugins are found by Hermes's own plugin manager (``discover_and_load``:
bundled platforms deferred, user plugins from $HERMES_HOME/plugins when enabled), and the adapter
is built by the platform registry, as the gateway builds it. The stub agent is the gateway's
message handler: it appends one JSON line per turn with what the agent was handed, with one
``os.write`` (so a kill -9 loses no recorded turn). Standard output: JSON lines
(``{"connected": ...}``, ``{"disconnected_s": ..., "timed_out": ...}``); standard input: ``stop``
cancels the turns and disconnects, as the gateway does, each bounded at 5 s, and exits.
"""

import asyncio
import json
import logging
import os
import signal
import sys
import time


def main() -> None:
    with open(sys.argv[1]) as f:
        config = json.load(f)
    os.environ.update(config.get("env") or {})
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    sys.path[:0] = [p for p in (config.get("sdk"), config["hermes"]) if p]

    from gateway.config import PlatformConfig
    from gateway.platform_registry import platform_registry
    from hermes_cli.plugins import PluginContext, PluginManager, PluginManifest

    manager = PluginManager()
    if config.get("plugin_dir"):
        manifest = PluginManifest(name="dingtalk-platform", source="bundled", path=config["plugin_dir"],
                                  kind="platform", key="dingtalk-platform")
        manager._load_directory_module(manifest).register(PluginContext(manifest, manager))
    else:
        manager.discover_and_load()
    adapter = platform_registry.create_adapter("dingtalk", PlatformConfig(enabled=True, extra=config.get("extra") or {}))
    asyncio.run(run(config, adapter))


def say(**fields) -> None:
    sys.stdout.write(json.dumps(fields, default=str) + "\n")
    sys.stdout.flush()


async def run(config, adapter) -> None:
    turns = os.open(config["turns"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    async def agent(event):
        raw = getattr(event, "raw_message", None)
        source = event.source
        timestamp = getattr(event, "timestamp", None)
        record = {
            "pid": os.getpid(), "at": time.time(),
            "message_id": event.message_id, "text": event.text,
            "message_type": getattr(event.message_type, "value", str(event.message_type)),
            "media_urls": list(getattr(event, "media_urls", None) or []),
            "media_types": list(getattr(event, "media_types", None) or []),
            "timestamp": timestamp.isoformat() if hasattr(timestamp, "isoformat") else None,
            "source": {k: getattr(source, k, None) for k in ("chat_id", "chat_name", "chat_type", "user_id", "user_name", "user_id_alt")},
            "raw": raw.to_dict() if hasattr(raw, "to_dict") else None,
        }
        os.write(turns, (json.dumps(record, default=str, ensure_ascii=False) + "\n").encode())
        if event.message_id == config.get("kill_on_turn"):
            os.kill(os.getpid(), signal.SIGKILL)  # the agent has it; the turn has not completed
        if config.get("hang_on") and config["hang_on"] in (event.text or ""):
            await asyncio.sleep(3600)
        await asyncio.sleep(float(config.get("agent_s") or 0))
        return "%s %s" % (config["reply"], event.message_id) if config.get("reply") else None

    adapter.set_message_handler(agent)
    connected = await adapter.connect()
    complete = adapter.on_processing_complete

    async def recorded_complete(event, outcome):
        await complete(event, outcome)
        # The hook returned: recorded, so a test can tell a completed turn from one cut short.
        os.write(turns, (json.dumps({"completed": event.message_id, "completed_text": event.text,
                                     "outcome": getattr(outcome, "value", str(outcome))}) + "\n").encode())
        if event.message_id == config.get("kill_after_complete"):
            os.kill(os.getpid(), signal.SIGKILL)  # the hook returned; nothing after it ran

    adapter.on_processing_complete = recorded_complete
    stream_task = getattr(adapter, "_stream_task", None)
    say(connected=connected, stream_task=stream_task is not None and not stream_task.done(),
        bridge=repr(getattr(adapter, "_relay", None) or getattr(adapter, "_bridge", None)), adapter=type(adapter).__name__,
        bases=[c.__module__ + "." + c.__name__ for c in type(adapter).__mro__[:3]])
    loop = asyncio.get_running_loop()
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
        if line in ("stop", ""):
            break
    # The gateway gives an adapter 5 s to cancel its turns and 5 s to disconnect
    # (_bounded_adapter_teardown). It does so with wait_for, which cancels and then waits: with
    # dingtalk-stream 0.24.3, whose loop swallows each cancellation, sleeps 10 s and reconnects,
    # that wait can last for ever. Here the adapter is given up on after 5 s instead.
    budget = float(os.environ.get("HERMES_GATEWAY_ADAPTER_DISCONNECT_TIMEOUT", "5"))
    await asyncio.wait({asyncio.ensure_future(adapter.cancel_background_tasks())}, timeout=budget)
    started = time.monotonic()
    done, _ = await asyncio.wait({asyncio.ensure_future(adapter.disconnect())}, timeout=budget)
    say(disconnected_s=time.monotonic() - started, timed_out=not done)
    os._exit(0)  # an unpatched adapter may leave the SDK's Stream loop running (and reconnecting)


if __name__ == "__main__":
    main()
