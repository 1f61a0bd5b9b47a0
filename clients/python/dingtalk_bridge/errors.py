"""Errors of the consumer API, each typed by what a caller can do about it."""

from typing import Any, Dict, Optional

class BridgeError(Exception):
    """A failed call. ``retryable`` says whether the same call may succeed later."""

    retryable = False

    def __init__(self, message: str, status: Optional[int] = None, code: str = "error") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class BridgeAuthError(BridgeError):
    """401: the token is missing or does not open this app."""


class BridgeNotFoundError(BridgeError):
    """404: no such app on this bridge (or no such event or send key)."""


class BridgeRequestError(BridgeError):
    """Any other 4xx: the request is wrong; the message names what."""


class BridgeServerError(BridgeError):
    """5xx: the bridge failed; safe to retry."""

    retryable = True


class BridgeRefusedError(BridgeError):
    """502 ``dingtalk_refused`` from ``send``: DingTalk refused the message; retrying will not help.
    ``dingtalk_code`` and ``dingtalk_message`` are DingTalk's own."""

    def __init__(self, message: str, status: Optional[int], code: str,
                 dingtalk_code: Any = None, dingtalk_message: Optional[str] = None) -> None:
        super().__init__(message, status, code)
        self.dingtalk_code = dingtalk_code
        self.dingtalk_message = dingtalk_message


class BridgeNetworkError(BridgeError):
    """No HTTP answer: refused, reset, timed out, or aborted (``code == "aborted"``)."""

    retryable = True


class BridgeDecodeError(BridgeError):
    """The bridge answered with a body this client cannot decode (not JSON, or nested too deeply)."""


class BridgeSendFailedError(BridgeError):
    """502 ``dingtalk_unreachable`` from ``send``: the bridge gave the send up after a day of trying;
    its key answers so for good, so sending it again will not help."""


def _error_for(status: int, code: str, message: str, detail: Optional[Dict[str, Any]] = None) -> BridgeError:
    text = "%d %s: %s" % (status, code, message)
    if code == "dingtalk_unreachable":
        return BridgeSendFailedError(text, status, code)
    if code == "dingtalk_refused":
        detail = detail or {}
        return BridgeRefusedError(text, status, code, detail.get("dingtalkCode"), detail.get("dingtalkMessage"))
    if status == 401:
        return BridgeAuthError(text, status, code)
    if status == 404:
        return BridgeNotFoundError(text, status, code)
    if status >= 500:
        return BridgeServerError(text, status, code)
    return BridgeRequestError(text, status, code)


# A send may take the bridge a while: DingTalk's own timeouts on the session webhook, then the robot
# API, before it answers "queued". The TypeScript client waits as long.
SEND_TIMEOUT_S = 75.0
