import { describe, expect, it } from "vitest";
import { ROBOT_TOPIC } from "../../src/stream/frames";
import { openRequest, readOpenResponse, socketUrl } from "../../src/stream/open-connection";

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

  it("reads an endpoint and ticket; a refusal of credentials apart from other failures", async () => {
    const ok = await readOpenResponse(Response.json({ endpoint: "wss://wss-open.dingtalk.com/connect", ticket: "t+1/=" }));
    expect(ok).toEqual({ ok: true, endpoint: "wss://wss-open.dingtalk.com/connect", ticket: "t+1/=" });
    const refused = await readOpenResponse(Response.json({ requestid: "r", code: "authFailed", message: "bad" }, { status: 401 }));
    expect(refused).toMatchObject({ ok: false, refused: true });
    expect(await readOpenResponse(new Response("busy", { status: 503 }))).toMatchObject({ ok: false, refused: false });
    expect(await readOpenResponse(Response.json({ endpoint: "ftp://x" }))).toMatchObject({ ok: false, refused: false });
    expect(await readOpenResponse(new Response("<xml/>", { status: 200 }))).toMatchObject({ ok: false, refused: false });
  });

  it("turns the endpoint into an http(s) URL for fetch, with the ticket encoded", () => {
    expect(socketUrl("wss://h.example/connect", "a+b/c=")).toBe("https://h.example/connect?ticket=a%2Bb%2Fc%3D");
    expect(socketUrl("ws://127.0.0.1:5/connect?x=1", "t")).toBe("http://127.0.0.1:5/connect?x=1&ticket=t");
  });
});
