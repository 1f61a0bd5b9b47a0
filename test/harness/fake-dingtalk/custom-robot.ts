// A custom group robot's webhook (`/robot/send?access_token=...`), where DingTalk users point alert
// sinks: it records each post and answers errcode 0, as DingTalk does. Failures come from the
// switches (route "customRobot"), e.g. `{status: 200, body: {errcode: 310000, errmsg: "sign not match"}}`.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FakeContext } from "./context.ts";
import { parseJson, readText, sendJson } from "./http-io.ts";

export const CUSTOM_ROBOT_PATH = "/robot/send";

export async function customRobotSend(ctx: FakeContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const parsed = parseJson(await readText(req));
  const accessToken = url.searchParams.get("access_token");
  if (!accessToken || !parsed.ok) {
    // The old API's dialect: HTTP 200 and an errcode, whatever is wrong.
    sendJson(res, 200, { errcode: accessToken ? 40035 : 300001, errmsg: accessToken ? "缺少参数 json" : "token is not exist" });
    return;
  }
  ctx.records.customRobotSends.push({
    at: Date.now(),
    accessToken,
    signed: url.searchParams.has("timestamp") && url.searchParams.has("sign"),
    body: parsed.value,
  });
  sendJson(res, 200, { errcode: 0, errmsg: "ok" });
}
