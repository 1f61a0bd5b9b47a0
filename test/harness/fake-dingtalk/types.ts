// The fake DingTalk's public shapes: what tests, demos and the control API see.

export interface FakeApp {
  clientId: string;
  clientSecret: string;
  /** Accepted by the robot send APIs besides the clientId (DingTalk's internal-app robots use the appKey). */
  robotCode?: string;
}

export interface FakeDingTalkOptions {
  apps: FakeApp[];
  host?: string;
  port?: number;
  pingIntervalMs?: number;
  redeliverAfterMs?: number;
  /** Redeliveries after the first delivery before the fake gives a message up; default 3. */
  maxRedeliveries?: number;
  disconnectGraceMs?: number;
  ticketTtlMs?: number;
  tokenTtlMs?: number;
  /** HTTP status for a refused access token. DingTalk's docs say 400 or 401; field reports show 400. Default 401. */
  invalidTokenStatus?: 400 | 401;
  log?: (line: string) => void;
}

export interface Subscription {
  type: string;
  topic: string;
}

export interface OpenRecord {
  at: number;
  clientId: string;
  kind: "ticket" | "socket";
  /** "ticket": what the client asked for, so tests can check the robot topic was subscribed. */
  subscriptions?: Subscription[];
  ua?: string;
  localIp?: string;
  userAgent?: string;
  /** "socket": the connection it became. */
  connectionId?: string;
}

export type ConnectionState = "open" | "draining" | "closed";

export interface ConnectionInfo {
  id: string;
  clientId: string;
  openedAt: number;
  state: ConnectionState;
  lastAckAt: number | null;
  closedAt: number | null;
  subscriptions: Subscription[];
}

export interface DeliveryRecord {
  messageId: string;
  msgId: string;
  connectionId: string;
  at: number;
  /** 1 for the first delivery, 2 for the first redelivery, ... */
  attempt: number;
  ackedAt: number | null;
  /** The ack's `data`, parsed when it is JSON. */
  ackBody: unknown;
}

export interface PingRecord {
  messageId: string;
  connectionId: string;
  at: number;
  opaque: string;
  ackedAt: number | null;
  echoed: boolean | null;
}

/** Every frame a client sent, parsed when it was JSON, kept as text otherwise. */
export interface ClientFrameRecord {
  connectionId: string;
  at: number;
  frame: unknown;
}

export interface RefusedUpgrade {
  at: number;
  reason: string;
}

export interface TokenRecord {
  token: string;
  clientId: string;
  at: number;
  expiresAt: number;
}

export interface RobotSendBody {
  robotCode: string;
  msgKey: string;
  msgParam: string;
  openConversationId?: string;
  userIds?: string[];
  [key: string]: unknown;
}

export interface RobotSendRecord {
  path: string;
  at: number;
  token: string;
  body: RobotSendBody;
  /** `msgParam` parsed. */
  param: Record<string, unknown>;
}

export interface SessionSendBody {
  msgtype: string;
  text?: { content: string };
  markdown?: { title: string; text: string };
  [key: string]: unknown;
}

export interface SessionSendRecord {
  session: string;
  at: number;
  body: SessionSendBody;
}

/** Every call to DingTalk's HTTP side, failures included, to assert retries and refetches. */
export interface HttpCallRecord {
  at: number;
  route: HttpRoute;
  status: number | "reset" | "hang";
}

/** A post to a custom group robot's webhook (`/robot/send`): what an alert sink on DingTalk gets. */
export interface CustomRobotRecord {
  at: number;
  accessToken: string | null;
  /** Whether it carried `timestamp` and `sign` (a robot with a signing secret). */
  signed: boolean;
  body: unknown;
}

export type HttpRoute = "open" | "accessToken" | "groupSend" | "otoSend" | "session" | "customRobot";
export const HTTP_ROUTES: readonly HttpRoute[] = ["open", "accessToken", "groupSend", "otoSend", "session", "customRobot"];

/** How a call fails: an answer (a 3xx with `location` to test that redirects are never followed), or a dropped connection. */
export type FailHow = { status: number; body?: unknown; location?: string } | "reset" | "hang";

export interface SendResult {
  messageId: string;
  msgId: string;
  routedTo: string | null;
}

export interface FakeState {
  url: string;
  sessionWebhookBase: string;
  stuck: boolean;
  refusing: boolean;
  opens: OpenRecord[];
  refusedOpens: number;
  refusedOpenClients: string[];
  refusedUpgrades: RefusedUpgrade[];
  connections: ConnectionInfo[];
  deliveries: DeliveryRecord[];
  unackedMsgIds: string[];
  undeliveredMsgIds: string[];
  pings: PingRecord[];
  clientFrames: ClientFrameRecord[];
  tokensIssued: TokenRecord[];
  robotSends: RobotSendRecord[];
  sessionSends: SessionSendRecord[];
  customRobotSends: CustomRobotRecord[];
  /** Client ids refused the robot API's permission; "*" for every app. */
  robotPermissionDenied: string[];
  httpCalls: HttpCallRecord[];
  redirectHits: { at: number; method: string }[];
  violations: string[];
}

export interface FakeDingTalk {
  readonly url: string;
  close(): Promise<void>;

  // Stream side
  readonly opens: OpenRecord[];
  readonly refusedOpens: number;
  readonly refusedUpgrades: RefusedUpgrade[];
  connections(clientId?: string): ConnectionInfo[];
  sendRobotMessage(data: Record<string, unknown>, opts?: { clientId?: string }): SendResult;
  /** Returns the connections it went to. */
  sendRawFrame(frame: unknown, opts?: { connectionId?: string; clientId?: string }): string[];
  readonly deliveries: DeliveryRecord[];
  acked(msgId: string): boolean;
  unackedMsgIds(): string[];
  /** Messages waiting for a routable connection (none open, or stuck). */
  undeliveredMsgIds(): string[];
  readonly pings: PingRecord[];
  readonly clientFrames: ClientFrameRecord[];
  /** Protocol mistakes by clients; a correct client leaves this empty. */
  readonly violations: string[];
  /**
   * These take a connection id, or an app's client id for all its live connections; with neither
   * they act on every live connection. Each returns the connections it touched.
   */
  sendPing(connectionId?: string): string[];
  sendDisconnect(connectionId?: string, reason?: string): string[];
  drop(connectionId?: string): string[];
  /** Half-open: the socket stays up, but no frame reaches it any more, pings included. */
  mute(connectionId?: string): string[];
  /** Every live connection at once, or every live connection of one app. */
  closeAll(clientId?: string): void;
  setStuck(stuck: boolean): void;
  setRefuseCredentials(refuse: boolean): void;

  // HTTP side
  readonly tokensIssued: TokenRecord[];
  readonly robotSends: RobotSendRecord[];
  sessionWebhookUrl(session: string): string;
  readonly sessionSends: SessionSendRecord[];
  /** Posts to the custom group robot webhook (`${url}/robot/send?access_token=...`), e.g. the bridge's alerts. */
  readonly customRobotSends: CustomRobotRecord[];
  readonly httpCalls: HttpCallRecord[];
  /**
   * Whether an app (by client id; every app without one) holds the robot message permission
   * (qyapi_robot_sendmsg). Without it the robot send APIs answer 403
   * Forbidden.AccessDenied.AccessTokenPermissionDenied, before they look at the body. Granted by default.
   */
  setRobotPermission(granted: boolean, clientId?: string): void;
  /** With `clientId`, only that client's calls (by their access token) fail. */
  failNext(route: string, count: number, how: FailHow, clientId?: string): void;
  expireTokens(): void;
  throttleNext(route: string, count: number, clientId?: string): void;
  /** Drops every failure and throttle switch still set, and nothing else: other tests' records stay. */
  clearFailures(): void;
  /** Clears records, switches, queued and tracked messages, and closed connections; live connections and tokens stay. */
  reset(): void;
  /** Everything recorded, as `GET /_fake/state` answers it. */
  state(): FakeState;
}
