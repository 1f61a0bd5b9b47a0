// Robot CALLBACK routing as DingTalk does it: one random routable connection per message, never
// fan-out; an unacked message comes again with the same msgId and a new transport messageId.
import type { FakeContext } from "./context.ts";
import { buildFrame, newMessageId, ROBOT_TOPIC } from "./frames.ts";
import { hexId } from "./ids.ts";
import type { Connection, StreamGateway } from "./stream-gateway.ts";
import type { DeliveryRecord, SendResult } from "./types.ts";

interface Tracked {
  msgId: string;
  clientId: string;
  data: string;
  deliveries: number;
  acked: boolean;
  /** The messageId promised to the caller, used by the first delivery even when it waits in the queue. */
  firstMessageId: string | null;
  timer: NodeJS.Timeout | null;
}

export class CallbackRouter {
  private stuck = false;
  private tracked: Tracked[] = [];
  private queue: Tracked[] = [];

  constructor(
    private readonly ctx: FakeContext,
    private readonly gateway: StreamGateway,
  ) {}

  get isStuck(): boolean {
    return this.stuck;
  }

  send(data: Record<string, unknown>, clientId = this.ctx.defaultClientId): SendResult {
    if (!this.ctx.apps.has(clientId)) throw new Error(`unknown app ${clientId}`);
    // A payload without msgId is passed on untouched (tests send malformed ones); the fake tracks it by a made-up id.
    const msgId = typeof data.msgId === "string" && data.msgId !== "" ? data.msgId : `fake-${hexId(8)}`;
    const messageId = newMessageId();
    const t: Tracked = { msgId, clientId, data: JSON.stringify(data), deliveries: 0, acked: false, firstMessageId: messageId, timer: null };
    this.tracked.push(t);
    return { messageId, msgId, routedTo: this.dispatch(t) };
  }

  setStuck(stuck: boolean): void {
    this.stuck = stuck;
    this.ctx.log(stuck ? "stuck: nothing is routed" : "unstuck");
    if (!stuck) this.flush();
  }

  /** Delivers what waits in the queue for apps that now have a routable connection. */
  flush(): void {
    if (this.stuck) return;
    const waiting = this.queue;
    this.queue = [];
    // A late ack of an earlier delivery can settle a message while it waits.
    for (const t of waiting) if (!t.acked) this.dispatch(t);
  }

  acked(msgId: string): boolean {
    return this.tracked.some((t) => t.msgId === msgId && t.acked);
  }

  unackedMsgIds(): string[] {
    return unique(this.tracked.filter((t) => !t.acked).map((t) => t.msgId));
  }

  undeliveredMsgIds(): string[] {
    return unique(this.queue.filter((t) => !t.acked).map((t) => t.msgId));
  }

  /** Forgets every message, switches off stuck; the gateway still knows old messageIds, so late acks stay legal. */
  reset(): void {
    for (const t of this.tracked) if (t.timer) clearTimeout(t.timer);
    this.tracked = [];
    this.queue = [];
    this.stuck = false;
  }

  close(): void {
    this.reset();
  }

  private dispatch(t: Tracked): string | null {
    const candidates = this.stuck ? [] : this.gateway.routable(t.clientId);
    const conn = candidates[Math.floor(Math.random() * candidates.length)];
    if (!conn) {
      this.queue.push(t);
      this.ctx.log(`msg ${t.msgId} undelivered: ${this.stuck ? "stuck" : `no routable connection for ${t.clientId}`}`);
      return null;
    }
    this.deliver(t, conn);
    return conn.info.id;
  }

  private deliver(t: Tracked, conn: Connection): void {
    const messageId = t.firstMessageId ?? newMessageId();
    t.firstMessageId = null;
    t.deliveries += 1;
    const record: DeliveryRecord = {
      messageId,
      msgId: t.msgId,
      connectionId: conn.info.id,
      at: Date.now(),
      attempt: t.deliveries,
      ackedAt: null,
      ackBody: null,
    };
    this.ctx.records.deliveries.push(record);
    const frame = buildFrame("CALLBACK", ROBOT_TOPIC, t.data, { messageId, appId: t.clientId, connectionId: conn.info.id });
    this.gateway.send(conn, frame, "callback", (ack) => {
      record.ackBody = ack.body;
      // A non-200 ack is a failure report (already a violation): DingTalk keeps the message due.
      if (ack.code !== 200) return;
      record.ackedAt = Date.now();
      t.acked = true;
      if (t.timer) clearTimeout(t.timer);
      t.timer = null;
    });
    this.ctx.log(`msg ${t.msgId} delivery ${t.deliveries} as ${messageId} to ${conn.info.id}`);
    this.armRedelivery(t);
  }

  private armRedelivery(t: Tracked): void {
    const after = this.ctx.settings.redeliverAfterMs;
    if (after === 0 || t.deliveries > this.ctx.settings.maxRedeliveries) return;
    if (t.timer) clearTimeout(t.timer);
    t.timer = setTimeout(() => {
      t.timer = null;
      if (!t.acked) this.dispatch(t);
    }, after);
    t.timer.unref();
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
