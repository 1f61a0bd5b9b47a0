// A gateway for the chaos runs: `dtbridge tail` appending what it drains to a file, in its own
// process group so it can be killed the hard way.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./local-bridge";

export function startGateway(opts: { url: string; token: string; app: string; consumer: string; outFile: string }): ChildProcess {
  const out = openSync(opts.outFile, "a");
  const child = spawn(process.execPath, [join(ROOT, "dist/dtbridge.js"), "tail", "--consumer", opts.consumer, "--wait", "5000"], {
    env: { ...process.env, DTBRIDGE_URL: opts.url, DTBRIDGE_TOKEN: opts.token, DTBRIDGE_APP: opts.app },
    stdio: ["ignore", out, "ignore"],
    detached: true,
  });
  closeSync(out);
  return child;
}
