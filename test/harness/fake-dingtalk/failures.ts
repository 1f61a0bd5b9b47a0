// Failure switches: the next N calls to a route fail a chosen way, in the order they were set; a
// switch may be for one client's calls only, so that tests running side by side stay apart.
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendJson } from "./http-io.ts";
import { requestId } from "./ids.ts";
import { type FailHow, HTTP_ROUTES, type HttpRoute } from "./types.ts";

type Failure = FailHow | "throttle";

export function asRoute(route: string): HttpRoute {
  if (!(HTTP_ROUTES as readonly string[]).includes(route)) {
    throw new Error(`unknown route "${route}"; one of ${HTTP_ROUTES.join(", ")}`);
  }
  return route as HttpRoute;
}

export class FailureSwitches {
  private readonly queues = new Map<HttpRoute, { remaining: number; failure: Failure; clientId: string | undefined }[]>();

  add(route: string, count: number, failure: Failure, clientId?: string): void {
    const key = asRoute(route);
    if (!Number.isInteger(count) || count < 1) throw new Error("count must be a positive integer");
    if (typeof failure === "object" && !(failure.status >= 100 && failure.status <= 599)) {
      throw new Error("status must be an HTTP status");
    }
    const queue = this.queues.get(key) ?? [];
    queue.push({ remaining: count, failure, clientId });
    this.queues.set(key, queue);
  }

  /** The failure for a call to `route` by `clientId` (null when the call names no known client). */
  take(route: HttpRoute, clientId: string | null): Failure | null {
    const queue = this.queues.get(route) ?? [];
    const at = queue.findIndex((s) => s.clientId === undefined || s.clientId === clientId);
    const next = queue[at];
    if (!next) return null;
    next.remaining -= 1;
    if (next.remaining === 0) queue.splice(at, 1);
    return next.failure;
  }

  clear(): void {
    this.queues.clear();
  }
}

/** Answers (or refuses to answer) a request the way the switch says; returns the status for the call log. */
export function answerFailure(req: IncomingMessage, res: ServerResponse, route: HttpRoute, failure: Failure): number | "reset" | "hang" {
  if (failure === "hang") {
    // DingTalk that never answers: the caller's own time limit must end the call.
    return "hang";
  }
  if (failure === "reset") {
    // A reset is a dropped connection, not an answer: the client must see a network error.
    req.socket.destroy();
    return "reset";
  }
  if (failure === "throttle") {
    // Alibaba Cloud's gateway, which fronts api.dingtalk.com, throttles with this code.
    sendJson(res, 429, { requestid: requestId(), code: "Throttling.Api", message: "Request was denied due to api flow control." });
    return 429;
  }
  sendJson(res, failure.status, failure.body ?? defaultBody(route, failure.status), failure.location ? { location: failure.location } : {});
  return failure.status;
}

function defaultBody(route: HttpRoute, status: number): unknown {
  // Webhooks speak the old errcode dialect; -1 is DingTalk's "system busy".
  if (route === "session" || route === "customRobot") return { errcode: -1, errmsg: "系统繁忙" };
  return {
    requestid: requestId(),
    code: status >= 500 ? "ServiceUnavailable" : "Fake.InjectedFailure",
    message: `injected failure (HTTP ${status})`,
  };
}
