// A local alert sink on 127.0.0.1 that records what the bridge posts to it.
import { createServer, type Server } from "node:http";

export interface ReceivedAlert {
  at: number;
  url: URL;
  body: any;
}

export async function startAlertSink(): Promise<{ port: number; received: ReceivedAlert[]; close(): Promise<void> }> {
  const received: ReceivedAlert[] = [];
  const server: Server = createServer((req, res) => {
    let text = "";
    req.on("data", (d) => (text += d));
    req.on("end", () => {
      received.push({ at: Date.now(), url: new URL(req.url!, "http://127.0.0.1"), body: JSON.parse(text) });
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"errcode":0,"errmsg":"ok"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return { port, received, close: () => new Promise((r) => server.close(() => r())) };
}
