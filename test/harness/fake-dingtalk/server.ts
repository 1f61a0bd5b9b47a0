// Wiring: one HTTP server carries DingTalk's HTTP APIs, the Stream WebSocket and the control API.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CallbackRouter } from "./callback-router.ts";
import { FakeContext } from "./context.ts";
import { controlRoutes, handleControl } from "./control.ts";
import { CUSTOM_ROBOT_PATH, customRobotSend } from "./custom-robot.ts";
import { answerFailure, FailureSwitches } from "./failures.ts";
import { dingError, isObject, parseJson, readText, sendJson } from "./http-io.ts";
import { OpenApi, TicketBook } from "./open-api.ts";
import { GROUP_SEND_PATH, OTO_SEND_PATH, RobotApi, SESSION_PATH } from "./robot-api.ts";
import { StreamGateway } from "./stream-gateway.ts";
import type { FakeDingTalk, FakeDingTalkOptions, HttpRoute } from "./types.ts";

type ApiHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

/** The path an injected redirect points at: `${fake.url}/redirect-target`. */
export const REDIRECT_TARGET = "/redirect-target";
/** A path that never answers: `${fake.url}/hang`. */
export const HANG = "/hang";

export async function startFakeDingTalk(options: FakeDingTalkOptions): Promise<FakeDingTalk> {
  const ctx = new FakeContext(options);
  const records = ctx.records;
  const tickets = new TicketBook(ctx.settings.ticketTtlMs);
  const switches = new FailureSwitches();
  const openApi = new OpenApi(ctx, tickets, () => `${ctx.baseUrl.replace(/^http/, "ws")}/connect`);
  const robotApi = new RobotApi(ctx);
  // A new socket may take messages that waited for one; no socket opens before the server listens.
  const gateway = new StreamGateway(ctx, tickets, () => callbacks.flush());
  const callbacks = new CallbackRouter(ctx, gateway);

  const api = new Map<string, { route: HttpRoute; handle: ApiHandler }>([
    ["/v1.0/gateway/connections/open", { route: "open", handle: (req, res) => openApi.handle(req, res) }],
    ["/v1.0/oauth2/accessToken", { route: "accessToken", handle: (req, res) => robotApi.accessToken(req, res) }],
    [GROUP_SEND_PATH, { route: "groupSend", handle: (req, res) => robotApi.groupSend(req, res) }],
    [OTO_SEND_PATH, { route: "otoSend", handle: (req, res) => robotApi.otoSend(req, res) }],
    [SESSION_PATH, { route: "session", handle: (req, res, url) => robotApi.session(req, res, url) }],
    [CUSTOM_ROBOT_PATH, { route: "customRobot", handle: (req, res, url) => customRobotSend(ctx, req, res, url) }],
  ]);

  const fake: FakeDingTalk = {
    get url() {
      return ctx.baseUrl;
    },
    close: async () => {
      callbacks.close();
      await gateway.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    opens: records.opens,
    get refusedOpens() {
      return records.refusedOpens;
    },
    refusedUpgrades: records.refusedUpgrades,
    connections: (clientId) => gateway.connections(clientId),
    sendRobotMessage: (data, opts) => callbacks.send(data, opts?.clientId),
    sendRawFrame: (frame, opts) => gateway.sendRaw(frame, opts ?? {}),
    deliveries: records.deliveries,
    acked: (msgId) => callbacks.acked(msgId),
    unackedMsgIds: () => callbacks.unackedMsgIds(),
    undeliveredMsgIds: () => callbacks.undeliveredMsgIds(),
    pings: records.pings,
    clientFrames: records.clientFrames,
    violations: records.violations,
    sendPing: (connectionId) => gateway.sendPing(connectionId),
    mute: (connectionId) => gateway.mute(connectionId),
    sendDisconnect: (connectionId, reason) => gateway.sendDisconnect(connectionId, reason),
    drop: (connectionId) => gateway.drop(connectionId),
    closeAll: (clientId) => gateway.closeAll(clientId),
    setStuck: (stuck) => callbacks.setStuck(stuck),
    setRefuseCredentials: (refuse) => {
      openApi.refusing = refuse;
    },
    tokensIssued: records.tokensIssued,
    robotSends: records.robotSends,
    sessionWebhookUrl: (session) => `${ctx.baseUrl}${SESSION_PATH}?session=${encodeURIComponent(session)}`,
    sessionSends: records.sessionSends,
    customRobotSends: records.customRobotSends,
    httpCalls: records.httpCalls,
    setRobotPermission: (granted, clientId) => robotApi.setPermission(granted, clientId),
    failNext: (route, count, how, clientId) => switches.add(route, count, how, clientId),
    throttleNext: (route, count, clientId) => switches.add(route, count, "throttle", clientId),
    clearFailures: () => switches.clear(),
    expireTokens: () => robotApi.expireTokens(),
    reset: () => {
      records.clear();
      switches.clear();
      callbacks.reset();
      gateway.forgetClosed();
      openApi.refusing = false;
      robotApi.permissionDenied.clear();
    },
    state: () => ({
      url: ctx.baseUrl,
      sessionWebhookBase: `${ctx.baseUrl}${SESSION_PATH}?session=`,
      stuck: callbacks.isStuck,
      refusing: openApi.refusing,
      opens: records.opens,
      refusedOpens: records.refusedOpens,
      refusedOpenClients: records.refusedOpenClients,
      refusedUpgrades: records.refusedUpgrades,
      connections: gateway.connections(),
      deliveries: records.deliveries,
      unackedMsgIds: callbacks.unackedMsgIds(),
      undeliveredMsgIds: callbacks.undeliveredMsgIds(),
      pings: records.pings,
      clientFrames: records.clientFrames,
      tokensIssued: records.tokensIssued,
      robotSends: records.robotSends,
      sessionSends: records.sessionSends,
      customRobotSends: records.customRobotSends,
      robotPermissionDenied: [...robotApi.permissionDenied],
      httpCalls: records.httpCalls,
      redirectHits: records.redirectHits,
      violations: records.violations,
    }),
  };
  const control = controlRoutes(fake, ctx);

  const server: Server = createServer((req, res) => {
    void serve(req, res).catch((err: unknown) => {
      ctx.log(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      if (!res.headersSent) dingError(res, 500, "InternalError", "fake DingTalk failed; see its log");
      else res.destroy();
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    if (url.pathname === HANG) {
      // A peer that takes the request and never answers: the caller's own time limit must end it.
      return;
    }
    if (url.pathname === REDIRECT_TARGET) {
      // Where an injected 3xx points: a bridge that followed it would call here. It must never.
      await readText(req);
      records.redirectHits.push({ at: Date.now(), method: req.method ?? "GET" });
      sendJson(res, 200, { errcode: 0, errmsg: "ok", accessToken: "followed-a-redirect", expireIn: 7200, endpoint: "ws://x", ticket: "t" });
      return;
    }
    if (url.pathname.startsWith("/_fake/")) return handleControl(control, req, res, url);
    const entry = api.get(url.pathname);
    if (!entry || req.method !== "POST") {
      await readText(req);
      dingError(res, 404, "InvalidAction.NotFound", `no API ${req.method} ${url.pathname}`);
      return;
    }
    const failure = switches.take(entry.route, await clientOf(req, entry.route, robotApi));
    if (failure) {
      // Read the request first: a failure is DingTalk's answer to it, not a refusal to listen.
      await readText(req);
      const status = answerFailure(req, res, entry.route, failure);
      records.httpCalls.push({ at: Date.now(), route: entry.route, status });
      ctx.log(`${entry.route}: injected ${status}`);
      return;
    }
    await entry.handle(req, res, url);
    records.httpCalls.push({ at: Date.now(), route: entry.route, status: res.statusCode });
  }

  server.on("upgrade", (req, socket, head) => gateway.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(ctx.settings.port, ctx.settings.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  ctx.baseUrl = `http://${urlHost(ctx.settings.host)}:${port}`;
  ctx.log(`listening on ${ctx.baseUrl}`);
  return fake;
}

/** Which app a call is from, for failure switches scoped to one client: by its token, or by the id in its body. */
async function clientOf(req: IncomingMessage, route: HttpRoute, robotApi: RobotApi): Promise<string | null> {
  if (route === "open" || route === "accessToken") {
    const body = parseJson(await readText(req));
    const value = body.ok && isObject(body.value) ? (route === "open" ? body.value.clientId : body.value.appKey) : null;
    return typeof value === "string" ? value : null;
  }
  return robotApi.clientIdOf(req);
}

function urlHost(host: string): string {
  if (host === "0.0.0.0") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}
