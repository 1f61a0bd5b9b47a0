// POST anything: one row committed to one Durable Object over RPC, then 200. Nothing else.
import { DurableObject } from "cloudflare:workers";

interface BaselineEnv {
  ROWS: DurableObjectNamespace<Rows>;
}

export class Rows extends DurableObject<BaselineEnv> {
  constructor(ctx: DurableObjectState, env: BaselineEnv) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS rows (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)");
  }
  commit(body: string): void {
    this.ctx.storage.sql.exec("INSERT INTO rows (body) VALUES (?)", body);
  }
}

export default {
  async fetch(request: Request, env: BaselineEnv): Promise<Response> {
    if (request.method !== "POST") return new Response("baseline");
    await env.ROWS.getByName("bench").commit(await request.text());
    return Response.json({ msgtype: "empty" });
  },
} satisfies ExportedHandler<BaselineEnv>;
