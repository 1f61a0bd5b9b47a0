"""Stand-in: Hermes's plugin manager, as far as a platform plugin sees it. Bundled platforms
(`plugins/platforms/*`) are registered deferred; user plugins (`$HERMES_HOME/plugins/*`) load
eagerly when their name is in `plugins.enabled` of `$HERMES_HOME/config.yaml`."""

import importlib.util
import os
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from hermes_constants import get_hermes_home

_NS_PARENT = "hermes_plugins"


def get_bundled_plugins_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "plugins"


@dataclass
class PluginManifest:
    name: str
    source: str = ""
    path: Optional[str] = None
    kind: str = "standalone"
    key: str = ""


class LoadedPlugin:
    def __init__(self, manifest, enabled=False):
        self.manifest, self.enabled, self.module, self.error = manifest, enabled, None, None


class PluginContext:
    def __init__(self, manifest, manager):
        self.manifest = manifest
        self._manager = manager

    def register_platform(self, name, label, adapter_factory, check_fn, **extra):
        from gateway.platform_registry import PlatformEntry, platform_registry
        extra.setdefault("plugin_name", self.manifest.name)
        platform_registry.register(PlatformEntry(name, label, adapter_factory, check_fn, **extra))


class PluginManager:
    def __init__(self):
        self._plugins = {}

    def discover_and_load(self):
        enabled = _enabled_plugins()
        for child in sorted((get_bundled_plugins_dir() / "platforms").iterdir()):
            manifest = _manifest(child, "bundled")
            if manifest is not None:
                self._plugins[manifest.key] = LoadedPlugin(manifest, enabled=True)
                from gateway.platform_registry import platform_registry
                platform_registry.register_deferred(child.name, lambda m=manifest: self._load_plugin(m))
        user_dir = get_hermes_home() / "plugins"
        for child in sorted(user_dir.iterdir()) if user_dir.is_dir() else ():
            manifest = _manifest(child, "user")
            if manifest is None:
                continue
            if manifest.key in enabled:
                self._load_plugin(manifest)
            else:
                self._plugins[manifest.key] = LoadedPlugin(manifest)

    def _load_plugin(self, manifest):
        loaded = LoadedPlugin(manifest)
        try:
            loaded.module = self._load_directory_module(manifest)
            loaded.module.register(PluginContext(manifest, self))
            loaded.enabled = True
        except Exception as error:
            loaded.error = str(error)
        self._plugins[manifest.key] = loaded

    def _load_directory_module(self, manifest):
        plugin_dir = Path(manifest.path)
        if _NS_PARENT not in sys.modules:
            parent = types.ModuleType(_NS_PARENT)
            parent.__path__ = []
            sys.modules[_NS_PARENT] = parent
        name = "%s.%s" % (_NS_PARENT, manifest.key.replace("/", "__").replace("-", "_"))
        spec = importlib.util.spec_from_file_location(name, plugin_dir / "__init__.py",
                                                      submodule_search_locations=[str(plugin_dir)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module


_manager = None


def get_plugin_manager():
    global _manager
    _manager = _manager or PluginManager()
    return _manager


def _manifest(directory, source):
    path = directory / "plugin.yaml"
    if not path.is_file():
        return None
    match = re.search(r"^name:\s*(\S+)", path.read_text(), re.M)
    name = match.group(1) if match else directory.name
    kind = re.search(r"^kind:\s*(\S+)", path.read_text(), re.M)
    return PluginManifest(name=name, source=source, path=str(directory), kind=kind.group(1) if kind else "standalone", key=name)


def _enabled_plugins():
    """The names under `plugins:` / `enabled:` in config.yaml (block list form only)."""
    try:
        text = (get_hermes_home() / "config.yaml").read_text()
    except OSError:
        return set()
    block = re.search(r"^plugins:\s*\n(?:[ \t]+.*\n?)*", text, re.M)
    enabled = re.search(r"^[ \t]+enabled:\s*\n((?:[ \t]+- .*\n?)*)", block.group(0), re.M) if block else None
    return {line.split("-", 1)[1].strip().strip("'\"") for line in enabled.group(1).splitlines()} if enabled else set()
