// A small real Stream client and the fixtures the fake DingTalk's own tests share: each test file
// calls useFake() once, which starts a fake for the file and resets it after each test.
import { afterAll, afterEach, beforeAll } from "vitest";
import WebSocket from "ws";
import { type FakeApp, type FakeDingTalk, type FakeDingTalkOptions, ROBOT_TOPIC, startFakeDingTalk } from "./fake-dingtalk/index.ts";

export const APP = { clientId: "ding-app-1", clientSecret: "secret-1", robotCode: "dingrobot1" } satisfies FakeApp;
export const OTHER: FakeApp = { clientId: "ding-app-2", clientSecret: "secret-2" };
export const ROBOT_SUB = [{ type: "CALLBACK", topic: ROBOT_TOPIC }];

export interface Frame {
  specVersion?: string;
  type: string;
  headers: { topic: string; messageId: string; contentType: string; time: string; appId?: string; connectionId?: string };
  data: string;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until<T>(probe: () => T | undefined | null | false, what: string, timeoutMs = 3000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// `any` for answers: the tests match them against DingTalk's shapes, which is the point of them.
export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; json: any }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, text, json };
}

export async function openTicket(fake: FakeDingTalk, app: FakeApp = APP, subscriptions = ROBOT_SUB) {
  const res = await post(`${fake.url}/v1.0/gateway/connections/open`, {
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    subscriptions,
    ua: "fake-dingtalk-test/1",
    localIp: "127.0.0.1",
  });
  return res as { status: number; text: string; json: { endpoint: string; ticket: string } };
}

/** A minimal Stream client that acks the way the protocol document says, unless told not to. */
export class Client {
  readonly frames: Frame[] = [];
  readonly raw: string[] = [];
  ackCallbacks = true;
  ackPings = true;
  readonly closed: Promise<{ code: number }>;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.on("close", (code) => resolve({ code })));
    ws.on("message", (data) => {
      const text = String(data);
      this.raw.push(text);
      let frame: Frame;
      try {
        frame = JSON.parse(text) as Frame;
      } catch {
        return;
      }
      this.frames.push(frame);
      if (frame.type === "SYSTEM" && frame.headers?.topic === "ping" && this.ackPings) this.ack(frame, frame.data);
      if (frame.type === "CALLBACK" && this.ackCallbacks) this.ack(frame, JSON.stringify({ response: null }));
    });
  }

  static async connect(fake: FakeDingTalk, app: FakeApp = APP, subscriptions = ROBOT_SUB): Promise<Client> {
    const { json } = await openTicket(fake, app, subscriptions);
    return Client.connectTo(`${json.endpoint}?ticket=${encodeURIComponent(json.ticket)}`);
  }

  static connectTo(url: string): Promise<Client> {
    const ws = new WebSocket(url);
    const client = new Client(ws);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(client));
      ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once("error", reject);
    });
  }

  ack(frame: Frame, data: string, code = 200): void {
    this.ws.send(
      JSON.stringify({ code, headers: { contentType: "application/json", messageId: frame.headers.messageId }, message: "OK", data }),
    );
  }

  callbacks(): Frame[] {
    return this.frames.filter((f) => f.type === "CALLBACK");
  }

  system(topic: string): Frame[] {
    return this.frames.filter((f) => f.type === "SYSTEM" && f.headers.topic === topic);
  }
}

export const clients: Client[] = [];
export async function connect(fake: FakeDingTalk, app: FakeApp = APP, subscriptions = ROBOT_SUB): Promise<Client> {
  const client = await Client.connect(fake, app, subscriptions);
  clients.push(client);
  return client;
}

const started: FakeDingTalk[] = [];
export async function start(options: Partial<FakeDingTalkOptions> = {}): Promise<FakeDingTalk> {
  const fake = await startFakeDingTalk({ apps: [APP, OTHER], pingIntervalMs: 0, redeliverAfterMs: 0, disconnectGraceMs: 150, ...options });
  started.push(fake);
  return fake;
}

/** The file's fake, started before its first test (a live binding: read it inside tests). */
export let fake: FakeDingTalk;

export function useFake(): void {
  beforeAll(async () => {
    fake = await start();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.ws.terminate();
    await until(() => fake.connections().every((c) => c.state === "closed"), "sockets closed");
    fake.reset();
  });
  afterAll(async () => {
    await Promise.all(started.map((f) => f.close()));
  });
}
