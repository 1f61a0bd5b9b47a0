"""Stand-in: a platform's settings."""


class PlatformConfig:
    def __init__(self, enabled=True, extra=None):
        self.enabled = enabled
        self.extra = extra or {}
