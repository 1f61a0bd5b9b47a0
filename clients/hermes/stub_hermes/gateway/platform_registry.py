"""Stand-in: the platform registry, with deferred loaders as Hermes has them."""


class PlatformEntry:
    def __init__(self, name, label, adapter_factory, check_fn, **extra):
        self.name, self.label, self.adapter_factory, self.check_fn = name, label, adapter_factory, check_fn
        self.__dict__.update(extra)


class PlatformRegistry:
    def __init__(self):
        self._entries, self._deferred = {}, {}

    def register_deferred(self, name, loader):
        if name not in self._entries:
            self._deferred[name] = loader

    def register(self, entry):
        self._deferred.pop(entry.name, None)
        self._entries[entry.name] = entry

    def get(self, name):
        loader = self._deferred.pop(name, None)
        if loader is not None:
            loader()
        return self._entries.get(name)

    def create_adapter(self, name, config):
        entry = self.get(name)
        if entry is None or not entry.check_fn():
            return None
        return entry.adapter_factory(config)


platform_registry = PlatformRegistry()
