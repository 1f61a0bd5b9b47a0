// The OpenAPI document against a running bridge: every answer the consumer API and the DingTalk
// routes give, to real requests, validates against the schema the document gives for it.
import Ajv2020 from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { robotSign } from "../../src/dingtalk/robot-sign";
import { sampleRobotMessage } from "../../src/dingtalk/sample-messages";
import { LOCAL } from "../harness/cli";
import { type LocalBridge, startBridge } from "../harness/local-bridge";

let bridge: LocalBridge;
let doc: any;
beforeAll(async () => {
  bridge = await startBridge({ vars: { MAX_ATTEMPTS: "1" } });
  doc = await (await fetch(`${bridge.url}/openapi.json`)).json();
});
afterAll(async () => {
  await bridge?.stop();
});

const ajv = new Ajv2020({ strict: false, allErrors: true });

/** Validates one live answer against the document's schema for its path, method and status. */
async function conforms(path: string, method: "get" | "post", res: Response) {
  const op = doc.paths[path]?.[method];
  expect(op, `${method} ${path} is documented`).toBeDefined();
  const answer = op.responses[String(res.status)];
  expect(answer, `${method} ${path} documents ${res.status}`).toBeDefined();
  // The document's components ride along, so its `#/components/schemas/...` references resolve.
  const schema = { ...answer.content["application/json"].schema, components: doc.components };
  const body = await res.json();
  const validate = ajv.compile({ $id: `${method} ${path} ${res.status} ${Math.random()}`, ...schema });
  expect(validate(body), `${method} ${path} ${res.status}: ${JSON.stringify(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`).toBe(
    true,
  );
  return body;
}

const auth = { authorization: `Bearer ${LOCAL.token}`, "content-type": "application/json" };
const api = (path: string, body?: unknown, headers: Record<string, string> = auth) =>
  fetch(`${bridge.url}/v1/default/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1, served at /openapi.json", () => {
    expect(doc.openapi).toBe("3.1.0");
  });

  it("describes every live answer", async () => {
    const ts = String(Date.now());
    const robot = await fetch(`${bridge.url}/dingtalk/default/robot`, {
      method: "POST",
      headers: { "content-type": "application/json", timestamp: ts, sign: await robotSign(LOCAL.secret, ts) },
      body: JSON.stringify(sampleRobotMessage({}, 0)),
    });
    await conforms("/dingtalk/{app}/robot", "post", robot);
    await conforms("/dingtalk/{app}/robot", "post", await fetch(`${bridge.url}/dingtalk/default/robot`, { method: "POST", body: "{}" }));
    await conforms("/health", "get", await fetch(`${bridge.url}/health`));

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
    const dead = await conforms("/v1/{app}/dead-letters", "get", await api("dead-letters"));
    await conforms("/v1/{app}/dead-letters/redrive", "post", await api("dead-letters/redrive", { ids: [dead.events[0].id] }));
    await conforms("/v1/{app}/dead-letters/purge", "post", await api("dead-letters/purge", { all: true }));
    const queued = await conforms(
      "/v1/{app}/send",
      "post",
      await api("send", { to: { openConversationId: "c" }, message: { msgtype: "text", text: { content: "x" } } }),
    );
    await conforms("/v1/{app}/send/{key}", "get", await api(`send/${encodeURIComponent(queued.key)}`));
    await conforms("/v1/{app}/send/{key}", "get", await api("send/unknown-key"));
    await conforms("/v1/{app}/status", "get", await api("status"));
    await conforms("/v1/{app}/pull", "post", await api("pull", { max: 500 }));
    await conforms("/v1/{app}/status", "get", await api("status", undefined, { authorization: "Bearer wrong" }));
  });
});
