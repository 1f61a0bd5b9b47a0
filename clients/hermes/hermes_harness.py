"""Runs the real Hermes DingTalk adapter the way the gateway does, with a stub agent (test support).

    python3 hermes_harness.py CONFIG.json

CONFIG: {"hermes": checkout root, "plugin_dir": the plugin directory to load (patched or not),
"sdk": optional path holding dingtalk_stream, "extra": platforms.dingtalk.extra, "env": extra
environment, "turns": file the stub agent appends each turn to, "reply": optional reply text,
"agent_s": seconds each turn takes, "kill_on_turn": a msgId whose turn ends in SIGKILL, "stub":
true to load stub_adapter.py (copied as the package's adapter.py) instead of Hermes}.

The plugin is imported with Hermes's own loader (``hermes_plugins.<slug>``, siblings as package
modules), registered with its ``register(ctx)`` and built by the platform registry; the stub is
imported the same way. The stub agent
is the gateway's message handler: it appends one JSON line per turn with what the agent was handed,
with one ``os.write`` (so a kill -9 loses no recorded turn). Standard output: JSON lines
(``{"connected": ...}``, ``{"disconnected_s": ..., "timed_out": ...}``); standard input: ``stop``
disconnects, bounded at 5 s as the gateway bounds it, and exits.
"""

import asyncio
import importlib.util
import json
import logging
import os
import signal
import sys
import time
import types


def main() -> None:
    with open(sys.argv[1]) as f:
        config = json.load(f)
    os.environ.update(config.get("env") or {})
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if config.get("stub"):
        asyncio.run(run_stub(config))
        return
    sys.path[:0] = [p for p in (config.get("sdk"), config.get("hermes")) if p]

    from gateway.config import PlatformConfig
    from gateway.platform_registry import platform_registry
    from hermes_cli.plugins import PluginContext, PluginManager, PluginManifest

    manager = PluginManager()
    manifest = PluginManifest(name="dingtalk-platform", source="bundled", path=config["plugin_dir"],
                              kind="platform", key="platforms/dingtalk")
    module = manager._load_directory_module(manifest)
    module.register(PluginContext(manifest, manager))
    asyncio.run(run_hermes(config, platform_registry, PlatformConfig))


def say(**fields) -> None:
    sys.stdout.write(json.dumps(fields, default=str) + "\n")
    sys.stdout.flush()


def load_package(name: str, directory: str):
    """The package at ``directory`` as Hermes imports a plugin: siblings are its submodules."""
    parent = name.rpartition(".")[0]
    if parent and parent not in sys.modules:  # Hermes's namespace parent, hermes_plugins
        sys.modules[parent] = types.ModuleType(parent)
        sys.modules[parent].__path__ = []
    spec = importlib.util.spec_from_file_location(name, os.path.join(directory, "__init__.py"),
                                                  submodule_search_locations=[directory])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


async def run_stub(config) -> None:
    load_package("hermes_plugins_stub", config["plugin_dir"])
    from hermes_plugins_stub import adapter as stub

    await run(config, stub.DingTalkAdapter(stub.PlatformConfig(extra=config.get("extra") or {})))


async def run_hermes(config, registry, PlatformConfig) -> None:
    await run(config, registry.create_adapter("dingtalk", PlatformConfig(enabled=True, extra=config.get("extra") or {})))


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
            "timestamp": timestamp.isoformat() if timestamp else None,
            "source": {k: getattr(source, k, None) for k in ("chat_id", "chat_name", "chat_type", "user_id", "user_name", "user_id_alt")},
            "raw": raw.to_dict() if hasattr(raw, "to_dict") else None,
        }
        os.write(turns, (json.dumps(record, default=str, ensure_ascii=False) + "\n").encode())
        if event.message_id == config.get("kill_on_turn"):
            os.kill(os.getpid(), signal.SIGKILL)  # the agent has it; the ack has not been sent
        await asyncio.sleep(float(config.get("agent_s") or 0))
        return "%s %s" % (config["reply"], event.message_id) if config.get("reply") else None

    adapter.set_message_handler(agent)
    connected = await adapter.connect()
    say(connected=connected, stream_task=adapter._stream_task is not None,
        bridge=repr(getattr(adapter, "_bridge", None)), module=type(adapter).__module__)
    loop = asyncio.get_running_loop()
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
        if line in ("stop", ""):
            break
    # The gateway gives an adapter 5 s to disconnect (_bounded_adapter_teardown). It does so with
    # wait_for, which cancels and then waits for the adapter: with dingtalk-stream 0.24.3, whose loop
    # swallows each cancellation, sleeps 10 s and reconnects, that wait can last for ever. Here the
    # adapter is given up on after 5 s instead.
    started = time.monotonic()
    task = asyncio.ensure_future(adapter.disconnect())
    done, _ = await asyncio.wait({task}, timeout=float(os.environ.get("HERMES_GATEWAY_ADAPTER_DISCONNECT_TIMEOUT", "5")))
    say(disconnected_s=time.monotonic() - started, timed_out=not done)
    os._exit(0)  # an unpatched adapter may leave the SDK's Stream loop running (and reconnecting)


if __name__ == "__main__":
    main()
