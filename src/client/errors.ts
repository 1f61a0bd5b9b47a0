// Typed failures of the consumer API, so a gateway can tell "fix your config" from "try again".

export class BridgeError extends Error {
  /** Whether the same call may succeed later: network trouble and 5xx, never a 4xx. */
  readonly retryable: boolean = false;
  constructor(
    message: string,
    readonly status: number | null,
    readonly code: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 401: the token is missing or does not open this app. */
export class BridgeAuthError extends BridgeError {}
/** 404: no such route, event or send key (an unknown app answers 401 on the consumer API). */
export class BridgeNotFoundError extends BridgeError {}
/** Any other 4xx: the request itself is wrong; the message names what. */
export class BridgeRequestError extends BridgeError {}
/** 5xx: the bridge failed; safe to retry. */
export class BridgeServerError extends BridgeError {
  override readonly retryable = true;
}
/** 502 dingtalk_refused: DingTalk said no to the message itself; sending it again will not help. */
export class BridgeSendRefusedError extends BridgeError {
  constructor(
    message: string,
    status: number,
    code: string,
    readonly dingtalkCode: string | null,
    readonly dingtalkMessage: string | null,
  ) {
    super(message, status, code);
  }
}
/** 502 dingtalk_unreachable: the bridge gave this send up after a day of trying; its key answers so for good. */
export class BridgeSendFailedError extends BridgeError {}
/** No HTTP answer at all: refused, reset, timed out. */
export class BridgeNetworkError extends BridgeError {
  override readonly retryable = true;
}

export function errorForStatus(status: number, code: string, message: string, detail: Record<string, unknown> = {}): BridgeError {
  const text = `${status} ${code}: ${message}`;
  if (code === "dingtalk_refused") {
    const str = (v: unknown) => (typeof v === "string" ? v : null);
    return new BridgeSendRefusedError(text, status, code, str(detail.dingtalkCode), str(detail.dingtalkMessage));
  }
  if (code === "dingtalk_unreachable") return new BridgeSendFailedError(text, status, code);
  if (status === 401) return new BridgeAuthError(text, status, code);
  if (status === 404) return new BridgeNotFoundError(text, status, code);
  if (status >= 500) return new BridgeServerError(text, status, code);
  return new BridgeRequestError(text, status, code);
}
