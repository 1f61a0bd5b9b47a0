// The benchmark's floors: the least a Worker on this runtime can do for each of the bridge's paths,
// measured in the same run so the bridge's figures read as ratios against them.
//   POST /        commits one row to a Durable Object over RPC, then 200 (the ingest floor).
//   POST /commit  commits a row and hands it to a waiting long poll in the same step.
//   POST /poll    waits up to 20 s for the next committed row (the hand-over floor).
//   POST /stream?api=...  opens a Stream connection at a (fake) DingTalk; each frame's data is
//                 committed, handed to a waiting poll, and acked (the Stream path's floor).
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
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS rows (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)");
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
      case "/stream":
        return new Response(await rows.stream(url.searchParams.get("api")!, url.searchParams.get("id")!, url.searchParams.get("secret")!));
      default:
        await rows.commit(await request.text());
        return Response.json({ msgtype: "empty" });
    }
  },
} satisfies ExportedHandler<BaselineEnv>;
