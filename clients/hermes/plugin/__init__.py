"""dingtalk-bridge: a Hermes user plugin that runs the bundled DingTalk adapter through
dingtalk-fallback-bridge, without changing a file of Hermes.

Installed in ``$HERMES_HOME/plugins/dingtalk-bridge/`` and enabled (``plugins.enabled``), Hermes
loads it eagerly at start. ``register`` loads the bundled DingTalk plugin and calls its own
``register`` with one change: the adapter factory builds a subclass of the bundled adapter
(bridged_adapter.py). Everything else DingTalk-specific (YAML settings, cron and send_message
senders, setup, the toolset) stays the bundled plugin's. When this Hermes lacks an internal the
subclass relies on, it registers nothing, says why once, and the stock adapter runs.
"""

import inspect
import logging
from pathlib import Path
from typing import Any, List, Optional

logger = logging.getLogger(__name__)

BUNDLED_KEY = "dingtalk-platform"  # the bundled manifest's name, which Hermes keys it by
ADAPTER_METHODS = ("connect", "disconnect", "send", "_on_message", "_run_stream", "_get_valid_webhook",
                   "_normalize_markdown", "_fire_done_reaction", "handle_message", "on_processing_complete",
                   "cancel_background_tasks")
_said = False


def register(ctx: Any) -> None:
    bundled, missing = _bundled_module(ctx), []
    if bundled is not None:
        missing = missing_internals(bundled)
    else:
        missing = ["the bundled DingTalk plugin (plugins/platforms/dingtalk)"]
    if missing:
        _say_once("dingtalk-bridge: this Hermes lacks %s; registering nothing, the stock DingTalk adapter runs"
                  % ", ".join(missing))
        return
    from .bridged_adapter import adapter_class
    bridged = adapter_class(bundled)
    bundled.register(_SwapFactory(ctx, lambda config: bridged(config)))


def missing_internals(bundled: Any) -> List[str]:
    """What the subclass relies on and this Hermes does not have."""
    adapter = getattr(bundled, "DingTalkAdapter", None)
    incoming = getattr(bundled, "_IncomingHandler", None)
    missing = [name for name, ok in (("DingTalkAdapter", inspect.isclass(adapter)),
                                     ("_IncomingHandler.process", callable(getattr(incoming, "process", None))),
                                     ("register", callable(getattr(bundled, "register", None)))) if not ok]
    if adapter is not None:
        missing += ["DingTalkAdapter.%s" % m for m in ADAPTER_METHODS if not callable(getattr(adapter, m, None))]
    try:
        from gateway.session import build_session_key  # noqa: F401  (sessions are keyed as handle_message keys them)
    except Exception:
        missing.append("gateway.session.build_session_key")
    return missing


class _SwapFactory:
    """The bundled plugin's context, with its DingTalk adapter factory swapped for ours."""

    def __init__(self, ctx: Any, factory: Any) -> None:
        self._ctx = ctx
        self._factory = factory

    def register_platform(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "dingtalk":
            if args:
                args = (args[0], self._factory) + tuple(args[2:])
            else:
                kwargs["adapter_factory"] = self._factory
        return self._ctx.register_platform(name, *args, **kwargs)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._ctx, attr)


def _bundled_module(ctx: Any) -> Optional[Any]:
    """The bundled DingTalk plugin's module, loaded by Hermes's own plugin loader."""
    try:
        from hermes_cli import plugins
        manager = getattr(ctx, "_manager", None) or plugins.get_plugin_manager()
        loaded = getattr(manager, "_plugins", {}).get(BUNDLED_KEY)  # recorded at discovery, deferred
        manifest = getattr(loaded, "manifest", None) or plugins.PluginManifest(
            name="dingtalk-platform", source="bundled", kind="platform", key=BUNDLED_KEY,
            path=str(Path(plugins.get_bundled_plugins_dir()) / "platforms" / "dingtalk"))
        package = manager._load_directory_module(manifest)
        return inspect.getmodule(package.register)  # the module that defines it: adapter.py
    except Exception as error:
        logger.debug("dingtalk-bridge: the bundled DingTalk plugin did not load: %s", error, exc_info=True)
        return None


def _say_once(message: str) -> None:
    global _said
    if not _said:
        _said = True
        logger.warning(message)
