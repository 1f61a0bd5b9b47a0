// The workerd configuration (Cap'n Proto text) that runs the production bundle as `wrangler deploy`
// would: the same compatibility date and flags, the Durable Object namespaces with SQLite storage on
// local disk, and every setting as an environment binding, so no secret is ever written to disk.
import type { WorkerManifest } from "./manifest";

export interface WorkerdConfigInput {
  manifest: WorkerManifest;
  /** The bundle's path relative to the directory the config file is written in. */
  bundlePath: string;
  /** Where each object's SQLite files go (absolute). */
  storageDir: string;
  host: string;
  port: number;
  /** Names of the settings to bind; each is read from workerd's environment under the same name. */
  settings: readonly string[];
}

/**
 * A storage key per namespace that never changes: workerd derives object ids and the storage
 * subdirectory from it, so a new key would orphan every stored inbox.
 */
export function uniqueKey(manifest: WorkerManifest, className: string): string {
  return `${manifest.name}-${className}`;
}

export function workerdConfig(input: WorkerdConfigInput): string {
  const { manifest } = input;
  const bindings = [
    ...manifest.durableObjects.map((d) => `(name = ${text(d.binding)}, durableObjectNamespace = ${text(d.className)})`),
    ...input.settings.map((name) => `(name = ${text(name)}, fromEnvironment = ${text(name)})`),
  ];
  const namespaces = manifest.durableObjects.map(
    (d) => `(className = ${text(d.className)}, uniqueKey = ${text(uniqueKey(manifest, d.className))}, enableSql = ${d.sql})`,
  );
  return `# Written by dtbridge serve at each start; edits are lost.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "bridge", worker = .bridge),
    (name = "storage", disk = (path = ${text(input.storageDir)}, writable = true)),
    # The Worker calls DingTalk, session webhooks and the alert sink, which may be on the
    # operator's own network; the Worker itself checks every outbound URL.
    (name = "internet", network = (allow = ["public", "private", "local"], tlsOptions = (trustBrowserCas = true))),
  ],
  sockets = [(name = "http", address = ${text(address(input.host, input.port))}, http = (), service = "bridge")],
);

const bridge :Workerd.Worker = (
  compatibilityDate = ${text(manifest.compatibilityDate)},
  compatibilityFlags = [${manifest.compatibilityFlags.map(text).join(", ")}],
  modules = [(name = ${text(manifest.main)}, esModule = embed ${text(input.bundlePath)})],
  bindings = [
${list(bindings)}
  ],
  durableObjectNamespaces = [
${list(namespaces)}
  ],
  durableObjectStorage = (localDisk = "storage"),
);
`;
}

/** host:port, with an IPv6 host in brackets. */
export function address(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

const list = (items: string[]) => items.map((i) => `    ${i},`).join("\n");

/** A Cap'n Proto text literal: C-style escapes for quotes, backslashes and control characters. */
export function text(value: string): string {
  let out = "";
  for (const c of value) {
    const code = c.codePointAt(0)!;
    if (c === "\\" || c === '"') out += `\\${c}`;
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += c;
  }
  return `"${out}"`;
}
