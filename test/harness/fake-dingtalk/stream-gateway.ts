// The WebSocket side: ticket-checked upgrades, frames out, acks in, pings, disconnects and drops.
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { isDeepStrictEqual } from "node:util";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import type { FakeContext } from "./context.ts";
import { type Ack, buildFrame, type DownstreamFrame, ROBOT_TOPIC, readAck } from "./frames.ts";
import { parseJson } from "./http-io.ts";
import { hexId, opaque } from "./ids.ts";
import type { TicketBook } from "./open-api.ts";
import type { ConnectionInfo, PingRecord } from "./types.ts";

/** DingTalk's documented cap; more is a client leaking connections. */
const MAX_CONNECTIONS_PER_APP = 50;

export interface Connection {
  readonly info: ConnectionInfo;
  readonly ws: WebSocket;
  graceTimer: NodeJS.Timeout | null;
  /** A half-open socket as seen in the field: still open, but no frame (not even a ping) reaches it. */
  muted?: boolean;
}

export type FrameKind = "ping" | "disconnect" | "callback" | "raw";
export type AckHandler = (ack: Ack, conn: Connection) => void;

interface SentFrame {
  kind: FrameKind;
  connectionIds: Set<string>;
  ackedBy: Set<string>;
  onAck?: AckHandler;
}

export class StreamGateway {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly conns = new Map<string, Connection>();
  private readonly sent = new Map<string, SentFrame>();
  private readonly pingTimer: NodeJS.Timeout | null;

  constructor(
    private readonly ctx: FakeContext,
    private readonly tickets: TicketBook,
    private readonly onSocketOpen: (clientId: string) => void,
  ) {
    const every = ctx.settings.pingIntervalMs;
    this.pingTimer = every > 0 ? setInterval(() => this.sendPing(), every) : null;
    this.pingTimer?.unref();
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? "/", "http://fake");
    if (url.pathname !== "/connect") {
      refuseUpgrade(socket, 404, "no WebSocket here; connect to the endpoint connections/open returned");
      return;
    }
    const redeemed = this.tickets.redeem(url.searchParams.get("ticket"));
    if (!redeemed.ok) {
      this.ctx.records.refusedUpgrades.push({ at: Date.now(), reason: redeemed.reason });
      this.ctx.log(`WebSocket refused: ${redeemed.reason}`);
      refuseUpgrade(socket, 401, redeemed.reason);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, redeemed.grant.clientId, redeemed.grant.subscriptions));
  }

  private accept(ws: WebSocket, clientId: string, subscriptions: ConnectionInfo["subscriptions"]): void {
    const info: ConnectionInfo = {
      id: hexId(16),
      clientId,
      openedAt: Date.now(),
      state: "open",
      lastAckAt: null,
      closedAt: null,
      subscriptions,
    };
    const conn: Connection = { info, ws, graceTimer: null };
    this.conns.set(info.id, conn);
    this.ctx.records.opens.push({ at: info.openedAt, clientId, kind: "socket", connectionId: info.id });
    this.ctx.log(`socket ${info.id} open for ${clientId}`);
    if (this.live(clientId).length > MAX_CONNECTIONS_PER_APP) {
      this.ctx.violation(`more than ${MAX_CONNECTIONS_PER_APP} connections open for ${clientId}`);
    }
    ws.on("message", (data, isBinary) => this.receive(conn, data, isBinary));
    ws.on("close", () => this.markClosed(conn, "closed by the client or the network"));
    ws.on("error", (err) => this.ctx.log(`socket ${info.id} error: ${err.message}`));
    setImmediate(() => this.onSocketOpen(clientId));
  }

  /** Copies, oldest first, closed ones included. */
  connections(clientId?: string): ConnectionInfo[] {
    return [...this.conns.values()]
      .filter((c) => clientId === undefined || c.info.clientId === clientId)
      .map((c) => ({ ...c.info, subscriptions: [...c.info.subscriptions] }));
  }

  live(clientId?: string): Connection[] {
    return [...this.conns.values()].filter((c) => c.info.state !== "closed" && (clientId === undefined || c.info.clientId === clientId));
  }

  /** Open, not draining, and subscribed to the robot topic: DingTalk only pushes what was subscribed. */
  routable(clientId: string): Connection[] {
    return this.live(clientId).filter(
      (c) => c.info.state === "open" && !c.muted && c.info.subscriptions.some((s) => s.type === "CALLBACK" && s.topic === ROBOT_TOPIC),
    );
  }

  send(conn: Connection, frame: DownstreamFrame, kind: FrameKind, onAck?: AckHandler): void {
    this.sent.set(frame.headers.messageId, {
      kind,
      connectionIds: new Set([conn.info.id]),
      ackedBy: new Set(),
      ...(onAck ? { onAck } : {}),
    });
    conn.ws.send(JSON.stringify(frame));
  }

  sendPing(connectionId?: string): string[] {
    return this.targets(connectionId)
      .filter((conn) => !conn.muted)
      .map((conn) => {
        const record: PingRecord = {
          messageId: "",
          connectionId: conn.info.id,
          at: Date.now(),
          opaque: opaque(),
          ackedAt: null,
          echoed: null,
        };
        const data = JSON.stringify({ opaque: record.opaque });
        const frame = buildFrame("SYSTEM", "ping", data);
        record.messageId = frame.headers.messageId;
        this.ctx.records.pings.push(record);
        this.send(conn, frame, "ping", (ack) => {
          record.ackedAt = Date.now();
          // Compared parsed: the Python SDK re-serialises the data with spaces after the colons.
          const parsed = parseJson(data);
          record.echoed = ack.dataProblem === null && parsed.ok && isDeepStrictEqual(ack.body, parsed.value);
          if (!record.echoed) this.ctx.violation(`ping ack ${record.messageId} on ${conn.info.id} does not echo the ping's data`);
        });
        return conn.info.id;
      });
  }

  sendDisconnect(connectionId?: string, reason = "connection is expired"): string[] {
    return this.targets(connectionId).map((conn) => {
      // DingTalk stops routing at once and closes the socket about 10 s later.
      conn.info.state = "draining";
      this.send(conn, buildFrame("SYSTEM", "disconnect", JSON.stringify({ reason })), "disconnect");
      this.ctx.log(`disconnect sent to ${conn.info.id}`);
      if (conn.graceTimer) clearTimeout(conn.graceTimer);
      conn.graceTimer = setTimeout(() => {
        conn.ws.close(1000, "disconnect");
        this.markClosed(conn, "closed after the disconnect grace");
      }, this.ctx.settings.disconnectGraceMs);
      conn.graceTimer.unref();
      return conn.info.id;
    });
  }

  /** Half-open: the socket stays up but nothing reaches it any more, pings included. */
  mute(connectionId?: string): string[] {
    return this.targets(connectionId).map((conn) => {
      conn.muted = true;
      this.ctx.log(`muted ${conn.info.id}`);
      return conn.info.id;
    });
  }

  /** Abrupt: the TCP socket goes, no close frame, like a network cut or a crashed server. */
  drop(connectionId?: string): string[] {
    return this.targets(connectionId).map((conn) => {
      conn.ws.terminate();
      this.markClosed(conn, "dropped");
      return conn.info.id;
    });
  }

  closeAll(clientId?: string): void {
    for (const conn of this.live(clientId)) {
      conn.ws.close(1001, "going away");
      this.markClosed(conn, "closed (closeAll)");
    }
  }

  sendRaw(frame: unknown, opts: { connectionId?: string; clientId?: string }): string[] {
    const targets = opts.connectionId !== undefined ? this.targets(opts.connectionId) : this.live(opts.clientId);
    const text = typeof frame === "string" ? frame : JSON.stringify(frame);
    const messageId = rawMessageId(frame);
    if (messageId !== null) {
      // A client acking a raw frame that carried a messageId is behaving, not violating.
      this.sent.set(messageId, { kind: "raw", connectionIds: new Set(targets.map((c) => c.info.id)), ackedBy: new Set() });
    }
    for (const conn of targets) conn.ws.send(text);
    return targets.map((c) => c.info.id);
  }

  /** Forgets closed connections, so a test after `reset()` sees only the live ones. */
  forgetClosed(): void {
    for (const [id, conn] of this.conns) if (conn.info.state === "closed") this.conns.delete(id);
  }

  async close(): Promise<void> {
    if (this.pingTimer) clearInterval(this.pingTimer);
    for (const conn of this.conns.values()) {
      if (conn.graceTimer) clearTimeout(conn.graceTimer);
      conn.ws.terminate();
      this.markClosed(conn, "fake shut down");
    }
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  /**
   * A connection id names one connection; an app's client id names all its live connections (the
   * fake may be shared by tests of many apps at once); nothing names every live connection.
   */
  private targets(selector?: string): Connection[] {
    if (selector === undefined) return this.live();
    const conn = this.conns.get(selector);
    if (conn && conn.info.state !== "closed") return [conn];
    const ofApp = this.live(selector);
    if (!conn && ofApp.length) return ofApp;
    throw new Error(`no live connection ${selector}`);
  }

  private markClosed(conn: Connection, why: string): void {
    if (conn.graceTimer) clearTimeout(conn.graceTimer);
    conn.graceTimer = null;
    if (conn.info.state === "closed") return;
    conn.info.state = "closed";
    conn.info.closedAt = Date.now();
    this.ctx.log(`socket ${conn.info.id} ${why}`);
  }

  private receive(conn: Connection, raw: RawData, isBinary: boolean): void {
    const text = toBuffer(raw).toString("utf8");
    const parsed = parseJson(text);
    const at = Date.now();
    this.ctx.records.clientFrames.push({ connectionId: conn.info.id, at, frame: parsed.ok ? parsed.value : text });
    const where = `on ${conn.info.id}`;
    if (isBinary) this.ctx.violation(`a binary frame ${where}`);
    if (!parsed.ok) {
      this.ctx.violation(`a frame that is not JSON ${where}: ${text.slice(0, 80)}`);
      return;
    }
    const ack = readAck(parsed.value);
    if (typeof ack === "string") {
      this.ctx.violation(`${ack} ${where}`);
      return;
    }
    const sent = this.sent.get(ack.messageId);
    if (!sent) {
      this.ctx.violation(`ack for unknown messageId ${ack.messageId} ${where}`);
      return;
    }
    if (!sent.connectionIds.has(conn.info.id)) {
      this.ctx.violation(`ack for ${sent.kind} ${ack.messageId} ${where}, not on the socket it was sent on`);
      return;
    }
    if (sent.ackedBy.has(conn.info.id)) {
      this.ctx.violation(`duplicate ack for ${sent.kind} ${ack.messageId} ${where}`);
      return;
    }
    sent.ackedBy.add(conn.info.id);
    conn.info.lastAckAt = at;
    if (ack.code !== 200) this.ctx.violation(`ack code ${String(ack.code)} for ${sent.kind} ${ack.messageId} ${where}`);
    if (ack.dataProblem) this.ctx.violation(`${ack.dataProblem} for ${sent.kind} ${ack.messageId} ${where}`);
    sent.onAck?.(ack, conn);
  }
}

function refuseUpgrade(socket: Duplex, status: 401 | 404, reason: string): void {
  const body = JSON.stringify({ code: status === 401 ? "invalidTicket" : "notFound", message: reason });
  const statusText = status === 401 ? "Unauthorized" : "Not Found";
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function rawMessageId(frame: unknown): string | null {
  const value = typeof frame === "string" ? parseJson(frame) : { ok: true as const, value: frame };
  if (!value.ok) return null;
  const headers = (value.value as { headers?: { messageId?: unknown } } | null)?.headers;
  return typeof headers?.messageId === "string" ? headers.messageId : null;
}

function toBuffer(raw: RawData): Buffer {
  if (Buffer.isBuffer(raw)) return raw;
  if (Array.isArray(raw)) return Buffer.concat(raw);
  return Buffer.from(raw);
}
