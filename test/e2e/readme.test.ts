// The README as a newcomer uses it: every code block that can run here runs, against a local bridge
// whose DingTalk is the fake, with the README's own host, port and dummy settings; every link in the
// project's Markdown resolves; names the README promises (npm scripts, dtbridge commands, settings)
// exist. A block that cannot run here says so in its info string (```sh no-test); ```sh file=NAME
// is a file the other blocks use.
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SETTING_NAMES } from "../../src/config/load";
import { SAMPLE_ROBOT_CODE } from "../../src/dingtalk/sample-messages";
import { cliEnv, LOCAL, runCli } from "../harness/cli";
import { type FakeDingTalk, startFakeDingTalk } from "../harness/fake-dingtalk/index.ts";
import { type LocalBridge, ROOT, startBridge } from "../harness/local-bridge";
import { anchors, type CodeBlock, codeBlocks, headings, links, prose } from "../harness/markdown";

const README = readFileSync(join(ROOT, "README.md"), "utf8");
const RUNS = new Set(["sh", "bash", "ts", "python"]);
const runnable = codeBlocks(README).filter((b) => RUNS.has(b.lang) && !b.flags.has("no-test") && !b.file);
const files = codeBlocks(README).filter((b) => b.file);

let dingtalk: FakeDingTalk;
let bridge: LocalBridge;
/** A gateway's project with the package installed: `npx dtbridge` and the import resolve to this clone. */
let project: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  const local = Object.fromEntries(
    readFileSync(join(ROOT, "config/local.env"), "utf8")
      .split("\n")
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  dingtalk = await startFakeDingTalk({
    // The robot of `dtbridge simulate`'s messages is this app's, as a real app's robot would be.
    apps: [{ clientId: local.DINGTALK_CLIENT_ID!, clientSecret: local.DINGTALK_CLIENT_SECRET!, robotCode: SAMPLE_ROBOT_CODE }],
    pingIntervalMs: 0,
    redeliverAfterMs: 0,
  });
  project = mkdtempSync(join(tmpdir(), "dtbridge-readme-"));
  const envFile = join(project, "bridge.env");
  writeFileSync(envFile, `${readFileSync(join(ROOT, "config/local.env"), "utf8")}\nDINGTALK_API_BASE=${dingtalk.url}\n`);
  bridge = await startBridge({ envFile });
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "a-gateway", private: true, type: "module" }));
  mkdirSync(join(project, "node_modules/.bin"), { recursive: true });
  symlinkSync(ROOT, join(project, "node_modules/dingtalk-fallback-bridge"));
  symlinkSync(join(ROOT, "dist/dtbridge.js"), join(project, "node_modules/.bin/dtbridge"));
  for (const block of files) {
    writeFileSync(join(project, block.file!), `${block.code}\n`);
    chmodSync(join(project, block.file!), 0o755);
  }
  env = {
    ...process.env,
    PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH}`,
    PYTHONPATH: join(ROOT, "clients/python"),
    DTBRIDGE_URL: bridge.url,
    DTBRIDGE_TOKEN: LOCAL.token,
    // npx must find dtbridge in the project, never fetch a package of that name.
    npm_config_offline: "true",
  };
});
afterAll(async () => {
  await bridge?.stop();
  await dingtalk?.close();
});

/** The README's address of the local bridge becomes this run's. */
const local = (code: string) => code.replaceAll("http://127.0.0.1:8787", bridge.url);

function run(
  command: string,
  args: string[],
  input?: string,
): { child: ChildProcess; done: Promise<{ code: number | null; out: string; err: string }> } {
  const child = spawn(command, args, { cwd: project, env, detached: true, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  child.stdin!.end(input ?? "");
  return { child, done: new Promise((r) => child.on("close", (code) => r({ code, out, err }))) };
}

/** `# {...}` after a command is what it prints: each such line must match a printed object's fields. */
function expectPrinted(block: CodeBlock, out: string) {
  const printed = jsonObjects(out);
  for (const line of block.code.split("\n").filter((l) => l.startsWith("# {"))) {
    const expected = JSON.parse(line.slice(2));
    expect(printed, `README line ${block.line}: ${line}`).toContainEqual(expect.objectContaining(expected));
  }
}

/** The JSON objects in a command's output, one after another (curl ends none with a newline). */
function jsonObjects(out: string): unknown[] {
  const found: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < out.length; i++) {
    const c = out[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"' && depth > 0) inString = true;
    else if (c === "{" && depth++ === 0) start = i;
    else if (c === "}" && depth > 0 && --depth === 0) {
      try {
        found.push(JSON.parse(out.slice(start, i + 1)));
      } catch {}
    }
  }
  return found;
}

async function until(what: string, ok: () => boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A long-running snippet: it must answer a message through the bridge, then stop cleanly on Ctrl-C. */
async function runGateway(block: CodeBlock, command: string, args: string[], text: string) {
  const gateway = run(command, args);
  const sent = await runCli(["simulate", "--count", "1", "--text", text], cliEnv(bridge.url));
  expect(sent.code, sent.stderr).toBe(0);
  const replied = () => dingtalk.robotSends.some((s) => JSON.stringify(s.param).includes(`you said: ${text}`));
  await until(`README line ${block.line} to answer "${text}"`, replied).catch(async (error) => {
    process.kill(-gateway.child.pid!, "SIGKILL");
    const { out, err } = await gateway.done;
    throw new Error(`${error.message}\n${out}\n${err}`);
  });
  process.kill(-gateway.child.pid!, "SIGINT");
  const { code, err } = await gateway.done;
  expect(err, `README line ${block.line} wrote to stderr`).not.toMatch(/Error|Traceback/);
  expect(code, `README line ${block.line} exit`).toBe(0);
}

describe("the README's code blocks run as written", () => {
  it("has blocks to run, each in a language this test knows", () => {
    expect(runnable.length).toBeGreaterThanOrEqual(5);
    for (const b of codeBlocks(README)) {
      if (b.lang === "sh" || b.lang === "ts" || b.lang === "python") continue;
      expect(["", "ini", "toml", "yaml", "json"], `README line ${b.line}: \`\`\`${b.lang}`).toContain(b.lang);
    }
  });

  for (const block of runnable) {
    it(`README line ${block.line} (${block.lang})`, async () => {
      if (block.lang === "ts") {
        writeFileSync(join(project, `snippet-${block.line}.ts`), block.code);
        // Node with tsx's loader, one process: the tsx command would relay Ctrl-C to its child a second
        // time when the child is slow to say it got it (30 ms), which a loaded machine can be.
        const tsx = pathToFileURL(join(ROOT, "node_modules/tsx/dist/loader.mjs")).href;
        return runGateway(block, process.execPath, ["--import", tsx, `snippet-${block.line}.ts`], "hello from ts");
      }
      if (block.lang === "python") {
        writeFileSync(join(project, `snippet_${block.line}.py`), block.code);
        return runGateway(block, "python3", [`snippet_${block.line}.py`], "hello from python");
      }
      const { code, out, err } = await run("bash", ["-euo", "pipefail", "-c", local(block.code)]).done;
      expect(code, `README line ${block.line} failed:\n${out}\n${err}`).toBe(0);
      expectPrinted(block, out);
    });
  }
});

describe("the project's documents do not drift", () => {
  const documents = [
    "README.md",
    "CHANGELOG.md",
    "test/README.md",
    "clients/python/README.md",
    "clients/hermes/README.md",
    "docs/architecture.md",
    "docs/dingtalk-protocol.md",
    "docs/glossary.md",
  ];

  it("every relative link and anchor resolves", () => {
    const broken: string[] = [];
    for (const doc of documents) {
      const text = readFileSync(join(ROOT, doc), "utf8");
      for (const { target, line } of links(text)) {
        if (/^(https?|mailto):/.test(target)) continue;
        const [path, anchor] = target.split("#") as [string, string | undefined];
        const file = path ? resolve(dirname(join(ROOT, doc)), path) : join(ROOT, doc);
        if (!existsSync(file)) broken.push(`${doc}:${line} ${target}: no file ${relative(ROOT, file)}`);
        else if (anchor && file.endsWith(".md") && !anchors(readFileSync(file, "utf8")).has(anchor))
          broken.push(`${doc}:${line} ${target}: no heading #${anchor}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("a section named in the README's prose exists", () => {
    const titles = headings(README).map((h) => h.replaceAll("`", ""));
    const named = [...prose(README).matchAll(/(?:see|README's) _([^_]+)_/g)].map((m) => m[1]!.replace(/\s+/g, " "));
    expect(named.length).toBeGreaterThan(3);
    for (const name of named)
      expect(
        titles.some((t) => t.startsWith(name)),
        `"_${name}_"`,
      ).toBe(true);
  });

  it("the npm scripts, dtbridge commands and settings the README names exist, and every setting is in it", async () => {
    const scripts = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts as Record<string, string>;
    for (const m of README.matchAll(/npm run ([a-z][\w:-]*)/g)) expect(Object.keys(scripts), m[0]).toContain(m[1]);
    const help = (await runCli(["--help"], process.env)).stdout;
    for (const m of README.matchAll(/dtbridge ([a-z][a-z-]+)/g)) {
      if (help.includes(`\n  ${m[1]} `)) continue;
      expect.fail(`README names "dtbridge ${m[1]}", which dtbridge --help does not list`);
    }
    for (const name of SETTING_NAMES) expect(README, name).toContain(`\`${name}\``);
  });

  it("the packed tarball's name carries this version", () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    const named = [...README.matchAll(/dingtalk-fallback-bridge-(\d+\.\d+\.\d+)\.tgz/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(0);
    for (const v of named) expect(v).toBe(version);
  });
});
