// The OpenAPI document against a running bridge: every answer the consumer API, the DingTalk routes
// and the public routes give, to real requests, validates against the schema the document gives
// for its path, method and status. The bridge's sends go to the fake DingTalk.
import Ajv2020 from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventKeys, sealEvent } from "../../src/cli/forward/event-crypto";
import { robotSign } from "../../src/dingtalk/robot-sign";
import { sampleRobotMessage } from "../../src/dingtalk/sample-messages";
import { LOCAL } from "../harness/cli";
import { type FakeDingTalk, startFakeDingTalk } from "../harness/fake-dingtalk/index.ts";
import { type LocalBridge, startBridge } from "../harness/local-bridge";

const READ_ONLY = "tok-read-only";
let dingtalk: FakeDingTalk;
let bridge: LocalBridge;
let doc: any;
beforeAll(async () => {
  dingtalk = await startFakeDingTalk({
    apps: [{ clientId: "dinglocaldevclient", clientSecret: LOCAL.secret, robotCode: "dingrobotsample" }],
    pingIntervalMs: 0,
    redeliverAfterMs: 0,
  });
  bridge = await startBridge({
    vars: { MAX_ATTEMPTS: "1", DINGTALK_API_BASE: dingtalk.url, BRIDGE_CONSUMER_TOKENS: `${LOCAL.token},read:${READ_ONLY}` },
  });
  doc = await (await fetch(`${bridge.url}/openapi.json`)).json();
});
afterAll(async () => {
  await bridge?.stop();
  await dingtalk?.close();
});

const ajv = new Ajv2020({ strict: false, allErrors: true });
/** Every operation an answer was checked against, so the last test can tell which went unchecked. */
const exercised = new Set<string>();

/** The documented answer for a live response: its path, method and status must be in the document. */
function documented(path: string, method: "get" | "post", res: Response) {
  const op = doc.paths[path]?.[method];
  expect(op, `${method} ${path} is documented`).toBeDefined();
  exercised.add(`${method} ${path}`);
  const answer = op.responses[String(res.status)];
  expect(answer, `${method} ${path} documents ${res.status}`).toBeDefined();
  return answer;
}

/** Validates one live JSON answer against the document's schema for its path, method and status. */
async function conforms(path: string, method: "get" | "post", res: Response) {
  const answer = documented(path, method, res);
  // The document's components ride along, so its `#/components/schemas/...` references resolve.
  const schema = { ...answer.content["application/json"].schema, components: doc.components };
  const body = await res.json();
  const validate = ajv.compile({ $id: `${method} ${path} ${res.status} ${Math.random()}`, ...schema });
  expect(validate(body), `${method} ${path} ${res.status}: ${JSON.stringify(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`).toBe(
    true,
  );
  return body;
}

/** A non-JSON answer: its status and content type are documented. */
async function servesDocumented(path: string, res: Response) {
  const answer = documented(path, "get", res);
  const type = res.headers.get("content-type")!.split(";")[0]!;
  expect(Object.keys(answer.content ?? {}), `${path} documents ${type}`).toContain(type);
  await res.arrayBuffer();
}

const auth = (token = LOCAL.token) => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });
const api = (path: string, body?: unknown, headers: Record<string, string> = auth()) =>
  fetch(`${bridge.url}/v1/default/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers,
    // "" stands for an empty body, which routes with an optional body read as {}.
    body: body === undefined ? undefined : body === "" ? "" : JSON.stringify(body),
  });

async function callback(message: Record<string, unknown>) {
  const ts = String(Date.now());
  return fetch(`${bridge.url}/dingtalk/default/robot`, {
    method: "POST",
    headers: { "content-type": "application/json", timestamp: ts, sign: await robotSign(LOCAL.secret, ts) },
    body: JSON.stringify(message),
  });
}

const text = (content: string) => ({ msgtype: "text", text: { content } });

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1, served at /openapi.json, with an operationId on every operation", () => {
    expect(doc.openapi).toBe("3.1.0");
    const ids = Object.values(doc.paths).flatMap((ops: any) => Object.values(ops).map((op: any) => op.operationId));
    expect(ids.every((id) => typeof id === "string")).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("describes every live answer of the draining and reading routes", async () => {
    await conforms("/dingtalk/{app}/robot", "post", await callback(sampleRobotMessage({}, 0)));
    await conforms("/dingtalk/{app}/robot", "post", await fetch(`${bridge.url}/dingtalk/default/robot`, { method: "POST", body: "{}" }));
    await conforms("/health", "get", await fetch(`${bridge.url}/health`));
    await conforms("/", "get", await fetch(`${bridge.url}/`));

    await conforms(
      "/v1/{app}/heartbeat",
      "post",
      await api("heartbeat", { consumer: "oa", stream: { connected: true, lastMessageAt: Date.now() } }),
    );
    const pulled = await conforms("/v1/{app}/pull", "post", await api("pull", { consumer: "oa", max: 1 }));
    await conforms("/v1/{app}/extend", "post", await api("extend", { leaseIds: [pulled.events[0].leaseId], leaseMs: 30_000 }));
    await conforms("/v1/{app}/nack", "post", await api("nack", { leaseIds: [pulled.events[0].leaseId], reason: "to the dead letters" }));
    await conforms("/v1/{app}/ack", "post", await api("ack", { leaseIds: ["lse_gone"] }));
    await conforms("/v1/{app}/events", "get", await api("events?limit=5"));
    const dead = await conforms("/v1/{app}/dead-letters", "get", await api("dead-letters?afterSeq=0&limit=10"));
    await conforms("/v1/{app}/dead-letters/redrive", "post", await api("dead-letters/redrive", { ids: [dead.events[0].id] }));
    await conforms("/v1/{app}/dead-letters/redrive", "post", await api("dead-letters/redrive", ""));
    await conforms("/v1/{app}/dead-letters/purge", "post", await api("dead-letters/purge", { all: true }));
    await conforms("/v1/{app}/status", "get", await api("status"));
    await conforms("/v1/{app}/pull", "post", await api("pull", { max: 500 }));
    await conforms("/v1/{app}/status", "get", await api("status", undefined, { authorization: "Bearer wrong" }));
  });

  it("describes history's filters, replay, and their refusals", async () => {
    await callback(sampleRobotMessage({ msgtype: "text", conversationId: "cid-openapi", msgId: "msg-openapi-1" }, 1));
    const pulled = await conforms("/v1/{app}/pull", "post", await api("pull", { consumer: "oa", max: 10 }));
    await conforms("/v1/{app}/ack", "post", await api("ack", { leaseIds: pulled.events.map((e: any) => e.leaseId) }));
    const page = await conforms(
      "/v1/{app}/events",
      "get",
      await api("events?order=desc&limit=3&conversationId=cid-openapi&msgId=msg-openapi-1&sender=staff001"),
    );
    expect(page.events).toHaveLength(1);
    await conforms("/v1/{app}/events", "get", await api("events?order=sideways"));
    await conforms("/v1/{app}/events", "get", await api("events?limit=0"));

    const replayed = await conforms("/v1/{app}/events/replay", "post", await api("events/replay", { ids: [page.events[0].id] }));
    expect(replayed.replayed).toBe(1);
    await conforms(
      "/v1/{app}/events/replay",
      "post",
      await api("events/replay", { fromSeq: 0, toSeq: 1_000, conversationId: "cid-openapi" }),
    );
    await conforms("/v1/{app}/events/replay", "post", await api("events/replay", { fromSeq: 5, toSeq: 1 }));
    // The replay shows in status's transitions.
    await conforms("/v1/{app}/status", "get", await api("status"));
    await conforms("/v1/{app}/events/replay", "post", await api("events/replay", { ids: ["x"] }, auth(READ_ONLY)));
  });

  it("describes sending, the outbox, cancelling and diagnose", async () => {
    const message = text("x");
    const sent = await conforms("/v1/{app}/send", "post", await api("send", { to: { openConversationId: "c" }, message }));
    expect(sent.state).toBe("sent");
    dingtalk.failNext("groupSend", 1, { status: 503 });
    const queued = await conforms("/v1/{app}/send", "post", await api("send", { to: { openConversationId: "c" }, message, key: "q-1" }));
    expect(queued.state).toBe("queued");
    await conforms("/v1/{app}/send", "post", await api("send", { to: { openConversationId: "c" }, message: text("y"), key: "q-1" }));
    await conforms("/v1/{app}/send", "post", await api("send", { replyTo: "evt_none", message }));

    const outbox = await conforms("/v1/{app}/outbox", "get", await api("outbox?state=queued&limit=10"));
    expect(outbox.sends.map((s: any) => s.key)).toContain("q-1");
    await conforms("/v1/{app}/outbox", "get", await api("outbox?state=lost"));
    const cancelled = await conforms("/v1/{app}/outbox/cancel", "post", await api("outbox/cancel", { keys: ["q-1", "never-sent"] }));
    expect(cancelled).toEqual({ cancelled: ["q-1"], notQueued: ["never-sent"] });
    await conforms("/v1/{app}/send", "post", await api("send", { to: { openConversationId: "c" }, message, key: "q-1" }));
    await conforms("/v1/{app}/send/{key}", "get", await api("send/q-1"));
    await conforms("/v1/{app}/send/{key}", "get", await api("send/unknown-key"));
    await conforms("/v1/{app}/outbox", "get", await api("outbox"));

    const diagnosed = await conforms("/v1/{app}/diagnose", "post", await api("diagnose", { sink: true }));
    expect(diagnosed.accessToken.ok).toBe(true);
    await conforms("/v1/{app}/diagnose", "post", await api("diagnose", ""));
    await conforms("/v1/{app}/diagnose", "post", await api("diagnose", { sink: "yes" }));
    await conforms("/v1/{app}/diagnose", "post", await api("diagnose", {}, auth(READ_ONLY)));
  });

  it("describes event pushes and their refusals", async () => {
    const keys = (await eventKeys("Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7", "localtoken", "dinglocaldevclient"))!;
    const sealed = await sealEvent(keys, '{"EventType":"check_url"}');
    const query = new URLSearchParams({ msg_signature: sealed.msg_signature, timestamp: sealed.timeStamp, nonce: sealed.nonce });
    const push = (q: URLSearchParams) =>
      fetch(`${bridge.url}/dingtalk/default/events?${q}`, { method: "POST", body: JSON.stringify({ encrypt: sealed.encrypt }) });
    await conforms("/dingtalk/{app}/events", "post", await push(query));
    await conforms("/dingtalk/{app}/events", "post", await push(new URLSearchParams({ nonce: "n" })));
  });

  it("describes the console and the document themselves", async () => {
    await servesDocumented("/console", await fetch(`${bridge.url}/console`));
    await servesDocumented("/console/{file}", await fetch(`${bridge.url}/console/main.mjs`));
    await servesDocumented("/console/{file}", await fetch(`${bridge.url}/console/console.css`));
    await conforms("/console/{file}", "get", await fetch(`${bridge.url}/console/nothing.js`));
    const first = await fetch(`${bridge.url}/openapi.json`);
    await conforms("/openapi.json", "get", first);
    const again = await fetch(`${bridge.url}/openapi.json`, { headers: { "if-none-match": first.headers.get("etag")! } });
    expect(documented("/openapi.json", "get", again)).toBeDefined();
  });

  it("has had a live answer checked for every operation it documents", () => {
    const operations = Object.entries(doc.paths).flatMap(([path, ops]: [string, any]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(operations.filter((o) => !exercised.has(o))).toEqual([]);
  });
});
