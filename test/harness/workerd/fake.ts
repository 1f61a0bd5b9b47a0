// The fake DingTalk from inside workerd: its control API over HTTP (it runs in Node beside the tests).
import { inject } from "vitest";
import { linkCredentials } from "../test-env";

export async function fake<T = any>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${inject("fakeDingTalkUrl")}/_fake/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`fake ${path} answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

/**
 * The fake answers the client's next call on `route` as DingTalk answers a call from a server whose
 * IP is not on the app's allowlist: 403 IpNotInWhiteList.
 */
export function refuseNextAsNotAllowlisted(route: string, clientId: string) {
  return fake("fail-next", {
    route,
    count: 1,
    status: 403,
    clientId,
    body: { code: "Forbidden.AccessDenied.IpNotInWhiteList", message: "访问ip不在白名单之中,request ip=1.2.3.4" },
  });
}

/** The fake's view of one app: its opens, connections, deliveries and its protocol violations. */
export async function fakeView(app: string) {
  const { clientId } = linkCredentials(app);
  const s = await fake("state");
  const ids: string[] = s.connections.filter((c: any) => c.clientId === clientId).map((c: any) => c.id);
  return {
    opens: s.opens.filter((o: any) => o.clientId === clientId && o.kind === "ticket"),
    connections: s.connections.filter((c: any) => c.clientId === clientId),
    live: s.connections.filter((c: any) => c.clientId === clientId && c.state !== "closed"),
    deliveries: s.deliveries.filter((d: any) => s.connections.some((c: any) => c.id === d.connectionId && c.clientId === clientId)),
    pings: s.pings.filter((p: any) => s.connections.some((c: any) => c.id === p.connectionId && c.clientId === clientId)),
    // The fake serves every test file at once: only what names this app's client or connections.
    violations: (s.violations as string[]).filter((v) => v.includes(clientId) || ids.some((id) => v.includes(id))),
  };
}

/** Routes one robot message to one of the app's connections, as DingTalk would. */
export function sendOverStream(app: string, data: Record<string, unknown>) {
  return fake<{ messageId: string; msgId: string; routedTo: string | null }>("robot-message", {
    data,
    clientId: linkCredentials(app).clientId,
  });
}

export async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 800)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
