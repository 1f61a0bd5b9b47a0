// The benchmark's floors: the least a Worker on this runtime can do for each of the bridge's paths,
// measured in the same run so the bridge's figures read as ratios against them.
//   POST /        commits one row to a Durable Object over RPC, then 200 (the ingest floor).
//   POST /commit  commits a row and hands it to a waiting long poll in the same step.
//   POST /poll    waits up to 20 s for the next committed row (the hand-over floor).
//   POST /stream?api=...  opens a Stream connection at a (fake) DingTalk; each frame's data is
//                 committed, handed to a waiting poll, and acked (the Stream path's floor).
//   POST /fill?n=  queues n copies of the body at once (setting up the drain floor, not measured).
//   POST /lease    leases the oldest `max` queued rows and answers them shaped as the bridge's pull
//                 answers its events, payload spliced in; POST /ack {leaseIds} completes them (the
//                 drain floor: the same HTTP shape as a pull and an ack, with no rules to follow).
import { DurableObject } from "cloudflare:workers";

interface BaselineEnv {
  ROWS: DurableObjectNamespace<Rows>;
}

export class Rows extends DurableObject<BaselineEnv> {
  private waiting: ((rows: string[]) => void)[] = [];
  /** Rows committed while no poll was waiting (between two polls): the next poll takes them. */
  private unserved: string[] = [];
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: held so the socket lives as long as the object
  private socket: WebSocket | null = null;

  constructor(ctx: DurableObjectState, env: BaselineEnv) {
    super(ctx, env);
    ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS rows (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS queue (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, received_at INTEGER NOT NULL,
        body TEXT NOT NULL, state INTEGER NOT NULL DEFAULT 0, attempt INTEGER NOT NULL DEFAULT 0, lease_id TEXT, lease_expires_at INTEGER);
      CREATE INDEX IF NOT EXISTS queue_ready ON queue(seq) WHERE state = 0;
      CREATE INDEX IF NOT EXISTS queue_leased ON queue(lease_id) WHERE state = 1;`);
  }

  fill(n: number, body: string): void {
    this.ctx.storage.sql.exec(
      `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?)
       INSERT INTO queue (id, received_at, body) SELECT 'evt_' || lower(hex(randomblob(16))), ?, ? FROM k`,
      n,
      Date.now(),
      body,
    );
  }

  /** The answer's JSON text: each row's metadata serialised, its stored body spliced in as the payload. */
  lease(max: number, leaseMs: number): string {
    const expires = Date.now() + leaseMs;
    const rows = this.ctx.storage.sql
      .exec<{ seq: number; id: string; received_at: number; attempt: number; lease_id: string; body: string }>(
        `UPDATE queue SET state = 1, attempt = attempt + 1, lease_id = 'lse_' || lower(hex(randomblob(12))), lease_expires_at = ?
          WHERE seq IN (SELECT seq FROM queue WHERE state = 0 ORDER BY seq LIMIT ?)
          RETURNING seq, id, received_at, attempt, lease_id, body`,
        expires,
        max,
      )
      .toArray();
    const events = rows.map((r) => {
      const meta = { id: r.id, seq: r.seq, kind: "robot", source: "webhook", dedupKey: r.id, receivedAt: r.received_at, orderingKey: null };
      return `${JSON.stringify({ ...meta, attempt: r.attempt, leaseId: r.lease_id, leaseExpiresAt: expires }).slice(0, -1)},"payload":${r.body}}`;
    });
    return `{"mode":"webhook","pollHintMs":0,"released":0,"leaseMs":${leaseMs},"events":[${events.join(",")}]}`;
  }

  ack(leaseIds: string[]): string[] {
    return this.ctx.storage.sql
      .exec<{ lease_id: string }>(
        "UPDATE queue SET state = 2 WHERE state = 1 AND lease_id IN (SELECT value FROM json_each(?)) RETURNING lease_id",
        JSON.stringify(leaseIds),
      )
      .toArray()
      .map((r) => r.lease_id);
  }

  commit(body: string): void {
    this.ctx.storage.sql.exec("INSERT INTO rows (body) VALUES (?)", body);
  }

  /** Commits and wakes the oldest waiting poll with the row, in one synchronous step. */
  commitAndWake(body: string): void {
    this.commit(body);
    const waiter = this.waiting.shift();
    if (waiter) waiter([body]);
    else this.unserved.push(body);
  }

  poll(waitMs: number): Promise<string[]> {
    if (this.unserved.length) return Promise.resolve(this.unserved.splice(0));
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w !== done);
        resolve([]);
      }, waitMs);
      const done = (rows: string[]) => {
        clearTimeout(timer);
        resolve(rows);
      };
      this.waiting.push(done);
    });
  }

  async stream(apiBase: string, clientId: string, clientSecret: string): Promise<string> {
    const open = await fetch(`${apiBase}/v1.0/gateway/connections/open`, {
      method: "POST",
      headers: { accept: "application/json", "content-type": "application/json" },
      body: JSON.stringify({ clientId, clientSecret, subscriptions: [{ type: "CALLBACK", topic: "/v1.0/im/bot/messages/get" }] }),
    });
    const { endpoint, ticket } = (await open.json()) as { endpoint: string; ticket: string };
    const res = await fetch(`${endpoint.replace(/^ws/, "http")}?ticket=${encodeURIComponent(ticket)}`, {
      headers: { upgrade: "websocket" },
    });
    const ws = res.webSocket!;
    ws.accept();
    ws.addEventListener("message", (e) => {
      const frame = JSON.parse(String(e.data)) as { type: string; headers: { messageId: string; topic: string }; data: string };
      if (frame.type === "CALLBACK") this.commitAndWake(frame.data);
      const data = frame.headers.topic === "ping" ? frame.data : '{"response":null}';
      ws.send(
        JSON.stringify({
          code: 200,
          headers: { contentType: "application/json", messageId: frame.headers.messageId },
          message: "OK",
          data,
        }),
      );
    });
    this.socket = ws;
    return "open";
  }
}

export default {
  async fetch(request: Request, env: BaselineEnv): Promise<Response> {
    if (request.method !== "POST") return new Response("baseline");
    const url = new URL(request.url);
    const rows = env.ROWS.getByName(url.searchParams.get("object") ?? "bench");
    switch (url.pathname) {
      case "/commit":
        rows.commitAndWake(await request.text());
        return Response.json({ msgtype: "empty" });
      case "/poll":
        return Response.json({ rows: await rows.poll(20_000) });
      case "/fill":
        await rows.fill(Number(url.searchParams.get("n")), await request.text());
        return Response.json({ ok: true });
      case "/lease": {
        const { max, leaseMs } = (await request.json()) as { max: number; leaseMs: number };
        return new Response(await rows.lease(max, leaseMs), { headers: { "content-type": "application/json" } });
      }
      case "/ack": {
        const { leaseIds } = (await request.json()) as { leaseIds: string[] };
        return Response.json({ acked: await rows.ack(leaseIds), stale: [] });
      }
      case "/stream":
        return new Response(await rows.stream(url.searchParams.get("api")!, url.searchParams.get("id")!, url.searchParams.get("secret")!));
      default:
        await rows.commit(await request.text());
        return Response.json({ msgtype: "empty" });
    }
  },
} satisfies ExportedHandler<BaselineEnv>;
