// The link's live sockets: each robot message committed to the inbox before it is acked on the
// socket it came in on, DingTalk's `disconnect` answered by opening the next connection first, and a
// lost socket followed by a reconnect within the budget.

import { log } from "../lib/log";
import { reconnectDelayMs } from "./budget";
import { ingestRequestFor } from "./frame-ingest";
import { ackFor, type FrameKind, frameKind, parseFrame, type StreamFrame, unreadableFrame } from "./frames";
import { type DialReason, describe, type LinkCore, type LinkSocket } from "./link-core";
import { send } from "./socket";

/** Tries to commit one frame before leaving it unacked for DingTalk to deliver again. */
const COMMIT_ATTEMPTS = 4;

/** A socket just opened becomes the live one; a refresh marks what was live to close soon. */
export function takeSocket(core: LinkCore, ws: WebSocket, reason: DialReason): void {
  const now = core.now();
  const sock: LinkSocket = { ws, openedAt: now, lastFrameAt: now, drainingSince: null };
  // A refresh replaces what was live; a disconnect already marked its socket.
  if (reason === "refresh") for (const old of core.live()) old.drainingSince = now;
  core.sockets.push(sock);
  ws.addEventListener("message", (e) => void onMessage(core, sock, e.data));
  ws.addEventListener("close", (e) => onGone(core, sock, `closed by DingTalk (${e.code}${e.reason ? ` ${e.reason}` : ""})`));
  ws.addEventListener("error", () => onGone(core, sock, "socket error"));
  const s = core.state;
  s.phase = "open";
  s.connectedAt = now;
  s.lastError = null;
  if (s.retryAt !== null && s.retryAt <= now) s.retryAt = null;
  core.save();
  log("info", "link_open", { app: s.app, reason, sockets: core.sockets.length });
  void core.tellInbox({ type: "opened", at: now });
}

async function onMessage(core: LinkCore, sock: LinkSocket, data: unknown): Promise<void> {
  const now = core.now();
  sock.lastFrameAt = now;
  core.state.lastFrameAt = now;
  core.state.counters.frames += 1;
  const text = typeof data === "string" ? data : new TextDecoder().decode(data as ArrayBuffer);
  const frame = parseFrame(text);
  if (!frame) {
    // Nothing to ack it by, but nothing DingTalk sent is dropped unseen: it is kept, as a dead letter.
    log("warn", "link_unreadable_frame", { app: core.state.app, bytes: text.length });
    await commit(core, unreadableFrame(text), "other");
    return;
  }
  const kind = frameKind(frame);
  if (kind === "disconnect") return onDisconnect(core, sock, frame);
  // Commit first; without the commit there is no ack, and DingTalk delivers again.
  if (kind !== "ping" && !(await commit(core, frame, kind))) return;
  const ack = ackFor(frame, kind);
  if (ack) send(sock.ws, ack);
}

/**
 * Commits a frame to the inbox, trying a few times: DingTalk's redelivery of an unacked robot
 * message is not guaranteed, so a moment's failure of the inbox (a deploy restarting it) must not
 * rest on it. The inbox dedups, so a retry of a commit that did happen stores nothing twice. The
 * counters stay in memory until the next tick: the ack waits for no write of the link's own.
 */
async function commit(core: LinkCore, frame: StreamFrame, kind: FrameKind): Promise<boolean> {
  const app = core.state.app;
  if (!app) return false;
  const request = await ingestRequestFor(frame, kind);
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await core.env.INBOX.getByName(app).ingest(request);
      const c = core.state.counters;
      if (request.deadReason) {
        c.deadLetters += 1;
        log("warn", "link_dead_letter", { app, reason: request.deadReason, outcome: result.outcome });
      } else {
        c.messages += 1;
        core.state.lastMessageAt = core.now();
      }
      return true;
    } catch (error) {
      log("error", "link_commit_failed", { app, messageId: frame.messageId, attempt, error: describe(error) });
      if (attempt >= COMMIT_ATTEMPTS) return false;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

/** DingTalk stops routing to this socket now and closes it soon: open the next one first. */
async function onDisconnect(core: LinkCore, sock: LinkSocket, frame: StreamFrame): Promise<void> {
  sock.drainingSince = core.now();
  core.state.counters.disconnects += 1;
  log("info", "link_disconnect_frame", { app: core.state.app, data: frame.data.slice(0, 200) });
  await core.dial("disconnect");
}

/** A socket closed or failed: forget it; with none left, reconnect within the budget. */
function onGone(core: LinkCore, sock: LinkSocket, why: string): void {
  if (!core.sockets.includes(sock)) return;
  core.sockets = core.sockets.filter((s) => s !== sock);
  const unexpected = sock.drainingSince === null;
  log(unexpected ? "warn" : "info", "link_close", { app: core.state.app, why, sockets: core.sockets.length });
  if (core.live().length) return;
  const now = core.now();
  const s = core.state;
  if (unexpected) {
    s.failures += 1;
    s.retryAt = now + reconnectDelayMs(s.failures, core.random);
    s.lastError = why;
  }
  s.phase = "backoff";
  s.connectedAt = null;
  core.save();
  void core.tellInbox({ type: "down", at: now, error: unexpected ? why : null });
  void reconnectSoon(core);
}

/** Reconnects now if the plan allows, else leaves it to the alarm, armed for the plan's moment. */
async function reconnectSoon(core: LinkCore): Promise<void> {
  await core.dial("lost");
  const retryAt = core.state.retryAt;
  if (!core.live().length && retryAt !== null) await core.schedule.arm(retryAt);
}

/** Closes a socket on our side, and forgets it as if DingTalk had. */
export function closeSocket(core: LinkCore, sock: LinkSocket, code: number, why: string): void {
  try {
    sock.ws.close(code, why);
  } catch {
    // already closed
  }
  onGone(core, sock, why);
}
