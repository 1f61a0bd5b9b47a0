// Runs the built dtbridge command against a local bridge.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./local-bridge";

/** The local app's credentials, as config/local.env sets them. */
export const LOCAL = { clientId: "dinglocaldevclient", secret: "local-dev-client-secret", token: "local-dev-consumer-token" };
const BIN = join(ROOT, "dist/dtbridge.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cliEnv(url: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, DTBRIDGE_URL: url, DTBRIDGE_TOKEN: LOCAL.token, DTBRIDGE_CLIENT_SECRET: LOCAL.secret, ...extra };
}

export function startCli(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [BIN, ...args], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return startCli(args, env).done;
}

export function ndjson(text: string): any[] {
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}
