// What every part of the fake shares: settings with defaults filled in, the apps, and the records.
import type {
  ClientFrameRecord,
  CustomRobotRecord,
  DeliveryRecord,
  FakeApp,
  FakeDingTalkOptions,
  HttpCallRecord,
  OpenRecord,
  PingRecord,
  RefusedUpgrade,
  RobotSendRecord,
  SessionSendRecord,
  TokenRecord,
} from "./types.ts";

export interface Settings {
  host: string;
  port: number;
  pingIntervalMs: number;
  redeliverAfterMs: number;
  maxRedeliveries: number;
  disconnectGraceMs: number;
  ticketTtlMs: number;
  tokenTtlMs: number;
  invalidTokenStatus: 400 | 401;
}

/** Recorded calls. Arrays are cleared in place so references handed out stay live. */
export class Records {
  readonly opens: OpenRecord[] = [];
  refusedOpens = 0;
  /** The clientId each refused open named, so parallel test files can count their own. */
  readonly refusedOpenClients: string[] = [];
  readonly refusedUpgrades: RefusedUpgrade[] = [];
  readonly deliveries: DeliveryRecord[] = [];
  readonly pings: PingRecord[] = [];
  readonly clientFrames: ClientFrameRecord[] = [];
  readonly tokensIssued: TokenRecord[] = [];
  readonly robotSends: RobotSendRecord[] = [];
  readonly sessionSends: SessionSendRecord[] = [];
  readonly customRobotSends: CustomRobotRecord[] = [];
  readonly httpCalls: HttpCallRecord[] = [];
  /** Calls that followed an injected redirect: a bridge must never make one. */
  readonly redirectHits: { at: number; method: string }[] = [];
  readonly violations: string[] = [];

  clear(): void {
    for (const list of [
      this.opens,
      this.refusedUpgrades,
      this.deliveries,
      this.pings,
      this.clientFrames,
      this.tokensIssued,
      this.robotSends,
      this.sessionSends,
      this.customRobotSends,
      this.httpCalls,
      this.redirectHits,
      this.violations,
      this.refusedOpenClients,
    ]) {
      list.length = 0;
    }
    this.refusedOpens = 0;
  }
}

export class FakeContext {
  readonly settings: Settings;
  readonly apps: ReadonlyMap<string, FakeApp>;
  readonly records = new Records();
  /** Set once the server listens. */
  baseUrl = "";
  private readonly logLine: (line: string) => void;

  constructor(options: FakeDingTalkOptions) {
    if (options.apps.length === 0) throw new Error("fake DingTalk needs at least one app");
    this.apps = new Map(options.apps.map((app) => [app.clientId, { ...app }]));
    this.settings = {
      host: options.host ?? "127.0.0.1",
      port: options.port ?? 0,
      pingIntervalMs: nonNegative("pingIntervalMs", options.pingIntervalMs ?? 20_000),
      redeliverAfterMs: nonNegative("redeliverAfterMs", options.redeliverAfterMs ?? 60_000),
      maxRedeliveries: nonNegative("maxRedeliveries", options.maxRedeliveries ?? 3),
      disconnectGraceMs: nonNegative("disconnectGraceMs", options.disconnectGraceMs ?? 10_000),
      ticketTtlMs: nonNegative("ticketTtlMs", options.ticketTtlMs ?? 90_000),
      tokenTtlMs: nonNegative("tokenTtlMs", options.tokenTtlMs ?? 7_200_000),
      invalidTokenStatus: options.invalidTokenStatus ?? 401,
    };
    this.logLine = options.log ?? (() => {});
  }

  get defaultClientId(): string {
    return this.apps.keys().next().value as string;
  }

  log(line: string): void {
    this.logLine(`[fake-dingtalk] ${line}`);
  }

  violation(text: string): void {
    this.records.violations.push(text);
    this.log(`VIOLATION ${text}`);
  }
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number >= 0`);
  return value;
}
