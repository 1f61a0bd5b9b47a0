// The layering of src/, enforced in npm test (npm run check:layers). Lower layers never import higher
// ones, and nothing imports in a circle:
//   lib < config, client < dingtalk < alerts < inbox, outbox, stream < http < index
// The inbox conducts the outbox (it owns the outbox's table) and the Stream link reports to the
// inbox over RPC, so inside the middle layer only these run sideways: inbox -> outbox, and stream ->
// the inbox's request types and robot-ingest. The command line (cli) builds on client, config,
// dingtalk and lib only: it runs beside the Worker, never inside it.
const layer = (name) => `^src/${name}/`;
const not = (...names) => names.map(layer).join("|");

module.exports = {
  forbidden: [
    { name: "no-circular", severity: "error", from: { path: "^src/" }, to: { circular: true } },
    {
      name: "lib-is-the-floor",
      severity: "error",
      from: { path: layer("lib") },
      to: { path: not("config", "client", "dingtalk", "alerts", "inbox", "outbox", "stream", "http", "cli") },
    },
    {
      name: "config-above-lib-only",
      severity: "error",
      from: { path: layer("config") },
      to: { path: not("client", "dingtalk", "alerts", "inbox", "outbox", "stream", "http", "cli") },
    },
    {
      name: "client-above-lib-only",
      severity: "error",
      from: { path: layer("client") },
      to: { path: not("config", "dingtalk", "alerts", "inbox", "outbox", "stream", "http", "cli") },
    },
    {
      name: "dingtalk-below-the-objects",
      severity: "error",
      from: { path: layer("dingtalk") },
      to: { path: not("client", "alerts", "inbox", "outbox", "stream", "http", "cli") },
    },
    {
      name: "alerts-below-the-objects",
      severity: "error",
      from: { path: layer("alerts") },
      to: { path: not("client", "inbox", "outbox", "stream", "http", "cli") },
    },
    {
      name: "outbox-below-the-inbox",
      severity: "error",
      from: { path: layer("outbox") },
      to: { path: not("client", "inbox", "stream", "http", "cli") },
    },
    {
      name: "inbox-not-on-stream-or-http",
      severity: "error",
      from: { path: layer("inbox") },
      to: { path: not("client", "stream", "http", "cli") },
    },
    {
      name: "stream-reports-to-the-inbox-only",
      severity: "error",
      from: { path: layer("stream") },
      to: { path: `${not("client", "outbox", "http", "cli")}|^src/inbox/(?!types\\.ts$|robot-ingest\\.ts$)` },
    },
    { name: "http-below-index", severity: "error", from: { path: layer("http") }, to: { path: "^src/index\\.ts$|^src/cli/" } },
    {
      name: "cli-beside-the-worker",
      severity: "error",
      from: { path: layer("cli") },
      to: { path: not("alerts", "inbox", "outbox", "stream", "http") },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "^src/http/static/files\\.ts$" },
  },
};
