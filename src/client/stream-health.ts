// What the gateway's own Stream connection has seen, reported to the bridge with each heartbeat so
// it can tell which path DingTalk delivers on, spot stuck routing, and skip Stream duplicates.
import type { StreamReport } from "./types.js";

const MAX_RECONNECTS = 50;
const MAX_MSG_IDS = 500;

export class StreamHealth {
  private connected = false;
  private lastMessageAt: number | undefined;
  private reconnects: number[] = [];
  private pendingMsgIds = new Set<string>();
  private everConnected = false;

  constructor(private readonly now: () => number = Date.now) {}

  /** Call when the Stream socket opens; every open after the first counts as a reconnect. */
  connectedNow(): void {
    if (this.everConnected) this.reconnects = [...this.reconnects, this.now()].slice(-MAX_RECONNECTS);
    this.everConnected = true;
    this.connected = true;
  }

  disconnectedNow(): void {
    this.connected = false;
  }

  /** Call for every robot message that arrived over Stream, with its msgId. */
  messageReceived(msgId?: string): void {
    this.lastMessageAt = this.now();
    if (msgId) {
      this.pendingMsgIds.add(msgId);
      if (this.pendingMsgIds.size > MAX_MSG_IDS) this.pendingMsgIds.delete(this.pendingMsgIds.values().next().value!);
    }
  }

  /** The report for the next heartbeat; msgIds are handed over once, then forgotten. */
  takeReport(): StreamReport {
    const msgIds = [...this.pendingMsgIds];
    this.pendingMsgIds.clear();
    return {
      connected: this.connected,
      ...(this.lastMessageAt !== undefined ? { lastMessageAt: this.lastMessageAt } : {}),
      ...(this.reconnects.length ? { reconnects: [...this.reconnects] } : {}),
      ...(msgIds.length ? { msgIds } : {}),
    };
  }

  /** Puts msgIds back after a heartbeat failed, so none is lost. */
  restore(report: StreamReport): void {
    for (const id of report.msgIds ?? []) this.pendingMsgIds.add(id);
  }
}
