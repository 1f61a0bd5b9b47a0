// A gateway written in TypeScript with moduleResolution NodeNext, importing the published package.
import { BridgeClient, type BridgeEvent, drain, replyKey } from "dingtalk-fallback-bridge";

const client = new BridgeClient({ url: "http://127.0.0.1:8787", token: "t" });
const handle = async (event: BridgeEvent) => {
  await client.reply(event, { msgtype: "text", text: { content: "ok" } }, await replyKey(event.id, {}));
};
void drain(client, handle);
