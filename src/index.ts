// The Worker entry point: the HTTP app, and the inbox Durable Object class it routes to.
import { app } from "./http/app";

export { Inbox } from "./inbox/inbox";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
