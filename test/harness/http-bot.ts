// A small DingTalk bot in HTTP mode, written from DingTalk's documentation alone (it shares no code
// with the bridge): it checks each robot callback's timestamp and sign, answers text messages inline,
// and takes encrypted event pushes, answering the encrypted "success". It records what it got, can
// fail or hang on purpose, and restarts on the same port, as a real bot does when redeployed.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

export interface BotOptions {
  secret: string;
  port: number;
  events?: { token: string; aesKey: string; ownerKey: string };
  /** How long the bot thinks about each message. */
  thinkMs?: number;
}

export interface BotMessage {
  msgId: string;
  conversationId: string;
  /** The body exactly as it came. */
  raw: string;
  at: number;
}

export class HttpBot {
  /** Robot messages it accepted and answered, in arrival order. */
  readonly messages: BotMessage[] = [];
  /** Decrypted event texts it accepted. */
  readonly events: string[] = [];
  /** Requests it refused, with why. */
  readonly refused: string[] = [];
  /** The most requests of one conversation it ever had in hand at once. */
  maxInFlightPerConversation = 0;
  /** msgIds to answer 500 once, and to leave unanswered once. */
  readonly failOnce = new Set<string>();
  readonly hangOnce = new Set<string>();
  private readonly inFlight = new Map<string, number>();
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly options: BotOptions) {}

  get url(): string {
    return `http://127.0.0.1:${this.options.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port, "127.0.0.1", () => resolve());
    });
    this.server = server;
  }

  /** Goes away mid-request, as a crashed or redeployed bot does. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", this.url);
    if (req.method === "POST" && url.pathname === "/robot") return this.robot(req, res, raw);
    if (req.method === "POST" && url.pathname === "/events") return this.event(url, res, raw);
    res.writeHead(404).end();
  }

  private async robot(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
    // DingTalk: reject a timestamp more than an hour away, or a sign that differs.
    const timestamp = String(req.headers.timestamp ?? "");
    const sign = String(req.headers.sign ?? "");
    const expected = createHmac("sha256", this.options.secret).update(`${timestamp}\n${this.options.secret}`).digest("base64");
    if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() - Number(timestamp)) > 3_600_000 || sign !== expected) {
      this.refused.push(`bad sign for ${timestamp}`);
      return void res.writeHead(401).end();
    }
    const message = JSON.parse(raw) as { msgId: string; conversationId: string; msgtype: string; text?: { content: string } };
    const { msgId, conversationId } = message;
    const inFlight = (this.inFlight.get(conversationId) ?? 0) + 1;
    this.inFlight.set(conversationId, inFlight);
    this.maxInFlightPerConversation = Math.max(this.maxInFlightPerConversation, inFlight);
    try {
      // Hanging: no answer until the caller gives up and closes the connection.
      if (this.hangOnce.delete(msgId)) return await new Promise<void>((r) => res.on("close", r));
      await new Promise((r) => setTimeout(r, this.options.thinkMs ?? 0));
      if (this.failOnce.delete(msgId)) return void res.writeHead(500).end("busy");
      // Stopped while thinking: the answer never leaves, and the message was not handled.
      if (res.destroyed || !res.socket || res.socket.destroyed) return;
      this.messages.push({ msgId, conversationId, raw, at: Date.now() });
      const answer =
        message.msgtype === "text"
          ? { msgtype: "text", text: { content: `echo:${message.text?.content.trim()}` }, at: { isAtAll: false } }
          : { msgtype: "empty" };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
    } finally {
      this.inFlight.set(conversationId, (this.inFlight.get(conversationId) ?? 1) - 1);
    }
  }

  private event(url: URL, res: ServerResponse, raw: string): void {
    const keys = this.options.events;
    if (!keys) return void res.writeHead(404).end();
    const { encrypt } = JSON.parse(raw) as { encrypt: string };
    const timestamp = url.searchParams.get("timestamp") ?? "";
    const nonce = url.searchParams.get("nonce") ?? "";
    if (url.searchParams.get("msg_signature") !== sha1Signature(keys.token, timestamp, nonce, encrypt)) {
      this.refused.push("bad msg_signature");
      return void res.writeHead(401).end();
    }
    const key = Buffer.from(`${keys.aesKey}=`, "base64");
    const decipher = createDecipheriv("aes-256-cbc", key, key.subarray(0, 16)).setAutoPadding(false);
    const plain = Buffer.concat([decipher.update(Buffer.from(encrypt, "base64")), decipher.final()]);
    const unpadded = plain.subarray(0, plain.length - plain[plain.length - 1]!);
    const length = unpadded.readUInt32BE(16);
    const message = unpadded.subarray(20, 20 + length).toString("utf8");
    if (unpadded.subarray(20 + length).toString("utf8") !== keys.ownerKey) {
      this.refused.push("wrong owner key");
      return void res.writeHead(401).end();
    }
    this.events.push(message);
    // The answer: "success", framed, padded to 32 and encrypted the same way, and signed.
    const body = Buffer.from("success");
    const framed = Buffer.concat([randomBytes(16), Buffer.from([0, 0, 0, body.length]), body, Buffer.from(keys.ownerKey)]);
    const pad = 32 - (framed.length % 32);
    const cipher = createCipheriv("aes-256-cbc", key, key.subarray(0, 16)).setAutoPadding(false);
    const out = Buffer.concat([cipher.update(Buffer.concat([framed, Buffer.alloc(pad, pad)])), cipher.final()]).toString("base64");
    const timeStamp = String(Date.now());
    const answer = { msg_signature: sha1Signature(keys.token, timeStamp, "bot12345", out), timeStamp, nonce: "bot12345", encrypt: out };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
  }
}

function sha1Signature(...parts: string[]): string {
  return createHash("sha1").update(parts.sort().join("")).digest("hex");
}
