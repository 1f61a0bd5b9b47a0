// What `dtbridge serve` needs to know about the Worker it runs: written by the build from
// wrangler.toml into dist/worker/serve.json, beside the bundle `wrangler deploy` uploads.

export interface WorkerManifest {
  /** The Worker's name in wrangler.toml; part of each Durable Object namespace's storage key. */
  name: string;
  /** The bundle's file name, beside serve.json. */
  main: string;
  compatibilityDate: string;
  compatibilityFlags: string[];
  durableObjects: { binding: string; className: string; sql: boolean }[];
}
