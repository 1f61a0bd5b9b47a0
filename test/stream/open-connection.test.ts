import { describe, expect, it } from "vitest";
import { BRIDGE_VERSION } from "../../src/lib/version";
import { ROBOT_TOPIC } from "../../src/stream/frames";
import { LINK_UA, openRequest, readOpenResponse, socketUrl } from "../../src/stream/open-connection";

describe("connections/open", () => {
  it("asks for JSON, subscribed to the robot topic only", async () => {
    const req = openRequest("http://127.0.0.1:9", "ding-id", "ding-secret");
    expect(req.url).toBe("http://127.0.0.1:9/v1.0/gateway/connections/open");
    expect(req.headers.get("accept")).toBe("application/json");
    const body = (await req.json()) as any;
    expect(body).toMatchObject({
      clientId: "ding-id",
      clientSecret: "ding-secret",
      subscriptions: [{ type: "CALLBACK", topic: ROBOT_TOPIC }],
    });
  });

  it("reads an endpoint and ticket; a refusal of credentials, or of this server's IP, apart from other failures", () => {
    const answer = (status: number, body: unknown) => ({ status, text: typeof body === "string" ? body : JSON.stringify(body) });
    const ok = readOpenResponse(answer(200, { endpoint: "wss://wss-open.dingtalk.com/connect", ticket: "t+1/=" }));
    expect(ok).toEqual({ ok: true, endpoint: "wss://wss-open.dingtalk.com/connect", ticket: "t+1/=" });
    expect(readOpenResponse(answer(401, { requestid: "r", code: "authFailed", message: "bad" }))).toMatchObject({
      ok: false,
      refused: "credentials",
    });
    // A code alone that mentions auth, without the status, is not a refusal.
    expect(readOpenResponse(answer(400, { code: "authSomething" }))).toMatchObject({ ok: false, refused: null });
    expect(
      readOpenResponse(answer(403, { code: "Forbidden.AccessDenied.IpNotInWhiteList", message: "访问ip不在白名单之中" })),
    ).toMatchObject({
      ok: false,
      refused: "ip_not_allowed",
      error: expect.stringContaining("服务器出口IP"),
    });
    expect(readOpenResponse(answer(503, "busy"))).toMatchObject({ ok: false, refused: null });
    expect(readOpenResponse(answer(302, ""))).toMatchObject({ ok: false, refused: null, error: expect.stringContaining("never follows") });
    expect(readOpenResponse({ error: "TimeoutError" })).toMatchObject({ ok: false, refused: null });
    expect(readOpenResponse(answer(200, "<xml/>"))).toMatchObject({ ok: false, refused: null });
    // Only wss:// endpoints, but for a loopback fake; no socket is opened on anything else.
    for (const endpoint of ["ftp://x", "ws://wss-open.dingtalk.com/connect", "https://h.example/connect"]) {
      expect(readOpenResponse(answer(200, { endpoint, ticket: "t" }))).toMatchObject({
        ok: false,
        refused: null,
        error: expect.stringContaining("not wss://"),
      });
    }
    expect(readOpenResponse(answer(200, { endpoint: "ws://127.0.0.1:9/connect", ticket: "t" }))).toMatchObject({ ok: true });
    // What DingTalk's answer echoes into the link's error is cut short.
    const long = readOpenResponse(answer(500, { code: "x".repeat(5000) }));
    expect(long.ok === false && long.error.length).toBeLessThan(300);
  });

  it("turns the endpoint into an http(s) URL for fetch, with the ticket encoded", () => {
    expect(socketUrl("wss://h.example/connect", "a+b/c=")).toBe("https://h.example/connect?ticket=a%2Bb%2Fc%3D");
    expect(socketUrl("ws://127.0.0.1:5/connect?x=1", "t")).toBe("http://127.0.0.1:5/connect?x=1&ticket=t");
  });
});

describe("the bridge's version", () => {
  it("is package.json's, in what the link tells DingTalk", async () => {
    const pkg = await import("../../package.json");
    expect(BRIDGE_VERSION).toBe(pkg.version);
    expect(LINK_UA).toContain(`/${pkg.version} `);
  });
});
