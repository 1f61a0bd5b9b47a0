// workerd's own messages (an object a test restarted, a socket a test dropped, a sink a test left
// unanswered) reach the terminal through the pool, outside any test, naming none. A run that passes
// holds them back; one that fails prints them before vitest's report of the failures (this reporter
// comes first in the list), so that a log cut to its tail, as CI's is, still names the failing test.
import type { Reporter, TestRunEndReason } from "vitest/node";

/** How the pool writes workerd's structured log lines: one write per message. */
const RUNTIME_MESSAGE = /^(uncaught exception; |exception = |stack: )/;

type Write = typeof process.stdout.write;

export class HeldRuntimeLog implements Reporter {
  private held: string[] = [];
  private restore: (() => void) | null = null;

  onInit(): void {
    const streams = [process.stdout, process.stderr];
    const originals = streams.map((s) => s.write);
    streams.forEach((stream, i) => {
      const original = originals[i]!;
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        if (typeof chunk === "string" && RUNTIME_MESSAGE.test(chunk)) {
          this.held.push(chunk);
          return true;
        }
        return (original as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
      }) as Write;
    });
    this.restore = () => {
      for (const [i, stream] of streams.entries()) stream.write = originals[i]!;
    };
  }

  onTestRunEnd(_modules: unknown, _errors: unknown, reason: TestRunEndReason): void {
    this.restore?.();
    if (reason !== "passed" && this.held.length) {
      process.stderr.write(`\nworkerd's own messages during the run (held back while tests pass):\n${collapse(this.held).join("")}\n`);
    }
    this.held = [];
  }
}

/** A message repeated back to back (a dozen dropped sockets) printed once, with its count. */
function collapse(messages: string[]): string[] {
  const out: string[] = [];
  let count = 0;
  messages.forEach((message, i) => {
    count++;
    if (messages[i + 1] === message) return;
    out.push(count > 1 ? `${message.trimEnd()} (x${count})\n` : message);
    count = 0;
  });
  return out;
}
