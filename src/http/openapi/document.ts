// The OpenAPI 3.1 document, built from the same zod schemas the routes validate with: bodies,
// queries and path parameters; the answers from responses.ts, which a test checks live answers
// against. Built ahead of time (npm run static) into the Worker's static files, so the JSON Schema
// generator never reaches the Worker's bundle; `npm run check:openapi` lints it with Redocly.
import { APP_NAME } from "../../config/apps";
import * as z from "../../lib/zod";
import { Components, pathParameter } from "./builders";
import { consumerPaths } from "./consumer-paths";
import { publicPaths } from "./public-paths";

const TAGS = [
  { name: "dingtalk", description: "DingTalk's calls to the bridge in HTTP mode, each checked by DingTalk's own signature." },
  { name: "draining", description: "What a gateway calls to take events from the app's inbox." },
  { name: "sending", description: "Sending as the robot through the bridge, once per key." },
  { name: "reading", description: "Status, history, dead letters and the outbox, read-only." },
  { name: "operating", description: "An operator's actions: replay, redrive, purge, cancel, diagnose." },
  { name: "operations", description: "Health, the console and this document: no token." },
];

export function openApiDocument(version: string) {
  const components = new Components();
  const app = pathParameter("app", "The app's name.", z.string().check(z.regex(APP_NAME)));
  const paths = { ...publicPaths(components, app), ...consumerPaths(components, app) };
  return {
    openapi: "3.1.0",
    info: {
      title: "dingtalk-fallback-bridge",
      version,
      description:
        "DingTalk robot messages committed to a durable per-app inbox that gateways drain over HTTP. See the README for the guarantees.",
      license: { name: "MIT", identifier: "MIT" },
    },
    servers: [
      { url: "/", description: "The bridge that serves this document." },
      { url: "http://127.0.0.1:8787", description: "A local bridge: `npm run dev`." },
    ],
    tags: TAGS,
    // Every route needs a consumer token unless it says otherwise (`security: []`).
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas: components.schemas,
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description:
            "A consumer token of the app (BRIDGE_CONSUMER_TOKENS, or consumerTokens in BRIDGE_APPS), with scopes: drain, send, read, admin. An operation's requirement names the scopes any one of which opens it.",
        },
      },
    },
  };
}
