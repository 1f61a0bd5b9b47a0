// POST /v1.0/gateway/connections/open: credentials in, a single-use ticket and the endpoint out.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FakeContext } from "./context.ts";
import { dingError, isObject, readApiBody, sendJson, sendText } from "./http-io.ts";
import { ticket as newTicket, requestId } from "./ids.ts";
import type { Subscription } from "./types.ts";

export interface TicketGrant {
  clientId: string;
  subscriptions: Subscription[];
}

type Redeemed = { ok: true; grant: TicketGrant } | { ok: false; reason: string };

interface TicketEntry extends TicketGrant {
  expiresAt: number;
  used: boolean;
}

export class TicketBook {
  // Redeemed tickets stay here so a reuse is told apart from a ticket the fake never issued.
  private readonly tickets = new Map<string, TicketEntry>();

  constructor(private readonly ttlMs: number) {}

  issue(grant: TicketGrant): string {
    const ticket = newTicket();
    this.tickets.set(ticket, { ...grant, expiresAt: Date.now() + this.ttlMs, used: false });
    return ticket;
  }

  redeem(ticket: string | null): Redeemed {
    if (!ticket) return { ok: false, reason: "no ticket" };
    const entry = this.tickets.get(ticket);
    if (!entry) return { ok: false, reason: "unknown ticket" };
    if (entry.used) return { ok: false, reason: "ticket already used" };
    if (Date.now() >= entry.expiresAt) return { ok: false, reason: "ticket expired" };
    entry.used = true;
    return { ok: true, grant: { clientId: entry.clientId, subscriptions: entry.subscriptions } };
  }
}

export class OpenApi {
  refusing = false;

  constructor(
    private readonly ctx: FakeContext,
    private readonly tickets: TicketBook,
    private readonly endpoint: () => string,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readApiBody(req, res);
    if (!body) return;
    const subscriptions = readSubscriptions(body.subscriptions);
    if (typeof body.clientId !== "string" || typeof body.clientSecret !== "string" || !subscriptions) {
      dingError(res, 400, "InvalidParameter", "clientId, clientSecret and subscriptions [{type, topic}] are required");
      return;
    }
    const app = this.ctx.apps.get(body.clientId);
    if (this.refusing || !app || app.clientSecret !== body.clientSecret) {
      this.ctx.records.refusedOpens += 1;
      this.ctx.records.refusedOpenClients.push(String(body.clientId));
      this.ctx.log(`connections/open refused for ${body.clientId}${this.refusing ? " (refusing switch)" : ""}`);
      sendJson(res, 401, { requestid: requestId(), code: "authFailed", message: "鉴权失败：clientId 或 clientSecret 不正确" });
      return;
    }
    const ticket = this.tickets.issue({ clientId: app.clientId, subscriptions });
    this.ctx.records.opens.push({
      at: Date.now(),
      clientId: app.clientId,
      kind: "ticket",
      subscriptions,
      ...(typeof body.ua === "string" ? { ua: body.ua } : {}),
      ...(typeof body.localIp === "string" ? { localIp: body.localIp } : {}),
      ...(req.headers["user-agent"] ? { userAgent: req.headers["user-agent"] } : {}),
    });
    this.ctx.log(`ticket issued to ${app.clientId} for ${subscriptions.map((s) => `${s.type} ${s.topic}`).join(", ")}`);
    const answer = { endpoint: this.endpoint(), ticket };
    if ((req.headers.accept ?? "").toLowerCase().includes("application/json")) {
      sendJson(res, 200, answer);
      return;
    }
    // DingTalk's gateway answers XML unless asked for JSON; the official SDKs carry a comment about it.
    this.ctx.violation(`connections/open from ${app.clientId} without Accept: application/json (answered XML)`);
    sendText(
      res,
      200,
      "application/xml;charset=utf-8",
      `<?xml version='1.0' encoding='UTF-8'?><OpenConnectionResponse><endpoint>${answer.endpoint}</endpoint><ticket>${answer.ticket}</ticket></OpenConnectionResponse>`,
    );
  }
}

function readSubscriptions(value: unknown): Subscription[] | null {
  if (!Array.isArray(value)) return null;
  const out: Subscription[] = [];
  for (const item of value) {
    if (!isObject(item) || typeof item.type !== "string" || typeof item.topic !== "string") return null;
    out.push({ type: item.type, topic: item.topic });
  }
  return out;
}
