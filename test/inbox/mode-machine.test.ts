// The pure mode machine: every transition and threshold, with time passed in by hand.
import { describe, expect, it } from "vitest";
import {
  burstEnd,
  initialModeState,
  type MachineInput,
  type ModeState,
  nextDeadline,
  pollHintMs,
  step,
  type Thresholds,
} from "../../src/inbox/mode-machine";

const T: Thresholds = {
  webhookSilenceMs: 120_000,
  consumerSilenceMs: 60_000,
  stallRestarts: 3,
  stallWindowMs: 600_000,
  stallSilenceMs: 600_000,
};

function run(inputs: MachineInput[], state: ModeState = initialModeState) {
  const transitions = [];
  const alerts = [];
  for (const input of inputs) {
    const out = step(state, input, T);
    state = out.state;
    transitions.push(...out.transitions);
    alerts.push(...out.alerts);
  }
  return { state, transitions, alerts };
}

const cb = (at: number): MachineInput => ({ type: "callback", at });
const pull = (at: number, consumer = "gw"): MachineInput => ({ type: "pull", at, consumer });
const tick = (at: number): MachineInput => ({ type: "tick", at });
const beat = (at: number, stream?: { connected: boolean; lastMessageAt?: number; reconnects?: number[] }): MachineInput => ({
  type: "heartbeat",
  at,
  consumer: "gw",
  stream,
});

describe("mode", () => {
  it("starts unknown, detached, routing ok, with no deadline", () => {
    expect(initialModeState).toMatchObject({ mode: "unknown", consumers: "detached", routing: "ok" });
    expect(nextDeadline(initialModeState, T)).toBeNull();
    expect(pollHintMs(initialModeState, T)).toBe(0);
  });

  it("moves unknown -> webhook on the first verified callback, once", () => {
    const { state, transitions } = run([cb(1000), cb(2000)]);
    expect(state.mode).toBe("webhook");
    expect(transitions.filter((t) => t.subject === "mode")).toEqual([
      { at: 1000, subject: "mode", from: "unknown", to: "webhook", reason: expect.stringContaining("callback") },
    ]);
  });

  it("moves unknown -> stream at once when Stream messages are reported and no callback ever came", () => {
    const { state, transitions } = run([beat(5000, { connected: true, lastMessageAt: 4000 })]);
    expect(state.mode).toBe("stream");
    expect(transitions.find((t) => t.subject === "mode")!.reason).toContain("no robot callback has ever arrived");
  });

  it("stays unknown on heartbeats without Stream messages", () => {
    expect(run([beat(5000, { connected: true }), tick(10_000_000)]).state.mode).toBe("unknown");
  });

  it("moves webhook -> stream only after WEBHOOK_SILENCE_MS of callback silence with newer Stream evidence", () => {
    let r = run([pull(0), cb(1000), beat(2000, { connected: true, lastMessageAt: 1500 })]);
    expect(r.state.mode).toBe("webhook");
    expect(nextDeadline(r.state, T)).toBe(Math.min(1000 + T.webhookSilenceMs, 2000 + T.consumerSilenceMs));
    r = run([tick(1000 + T.webhookSilenceMs - 1)], r.state);
    expect(r.state.mode).toBe("webhook");
    r = run([tick(1000 + T.webhookSilenceMs)], r.state);
    expect(r.state.mode).toBe("stream");
    expect(r.transitions.find((t) => t.subject === "mode")!.reason).toContain("no robot callback came for 120 s");
  });

  it("does not switch to stream on silence alone, nor on Stream messages older than the last callback", () => {
    let r = run([cb(10_000), beat(11_000, { connected: true, lastMessageAt: 9_000 })]);
    r = run([tick(10_000_000)], r.state);
    expect(r.state.mode).toBe("webhook");
  });

  it("moves stream -> webhook as soon as a callback arrives", () => {
    const r = run([beat(1000, { connected: true, lastMessageAt: 900 }), cb(2000)]);
    expect(r.transitions.map((t) => `${t.subject}:${t.from}->${t.to}`)).toContain("mode:stream->webhook");
  });

  it("hints a long poll without pause outside stream, and a safety poll within 30 s in stream", () => {
    const stream = run([beat(1000, { connected: true, lastMessageAt: 900 })]).state;
    expect(pollHintMs(stream, T)).toBe(30_000);
    expect(pollHintMs(stream, { ...T, consumerSilenceMs: 20_000 })).toBe(10_000);
    expect(pollHintMs(run([cb(1)]).state, T)).toBe(0);
  });

  it("never lets a gateway clock ahead of ours move Stream time into the future", () => {
    const r = run([beat(1000, { connected: true, lastMessageAt: 99_999_999 })]);
    expect(r.state.lastStreamMessageAt).toBe(1000);
  });
});

describe("consumers", () => {
  it("attach on a pull or heartbeat and detach after CONSUMER_SILENCE_MS", () => {
    let r = run([pull(1000)]);
    expect(r.state.consumers).toBe("attached");
    expect(nextDeadline(r.state, T)).toBe(1000 + T.consumerSilenceMs);
    r = run([tick(1000 + T.consumerSilenceMs - 1)], r.state);
    expect(r.state.consumers).toBe("attached");
    r = run([tick(1000 + T.consumerSilenceMs)], r.state);
    expect(r.state.consumers).toBe("detached");
    expect(r.transitions[0]).toMatchObject({ subject: "consumers", from: "attached", to: "detached" });
    expect(r.alerts).toEqual([]);
  });

  it("raise one alert when callbacks arrive while detached, and one recovery on reattach", () => {
    let r = run([pull(0), tick(60_000), cb(70_000), cb(80_000), cb(90_000)]);
    expect(r.alerts).toHaveLength(1);
    expect(r.alerts[0]).toMatchObject({ incident: "consumers_detached", phase: "open", at: 70_000 });
    expect(r.state.outageSince).toBe(70_000);
    r = run([beat(100_000)], r.state);
    expect(r.alerts).toEqual([expect.objectContaining({ incident: "consumers_detached", phase: "resolved" })]);
    expect(r.state.outageSince).toBeNull();
    expect(r.transitions[0]).toMatchObject({ subject: "consumers", from: "detached", to: "attached" });
  });

  it("a fresh bridge with no consumer yet opens the incident on its first callback", () => {
    const r = run([cb(5)]);
    expect(r.alerts[0]!.text).toContain("no consumer has connected yet");
  });

  it("reattaching without an open incident sends no recovery notice", () => {
    expect(run([pull(0), tick(60_000), pull(70_000)]).alerts).toEqual([]);
  });
});

describe("stuck routing", () => {
  const reconnects = [100_000, 200_000, 300_000];
  const stuck = () =>
    run([beat(50_000, { connected: true, lastMessageAt: 50_000 }), beat(300_000, { connected: true, lastMessageAt: 50_000, reconnects })]);

  it("finds the end of a burst of STALL_RESTARTS reconnects within STALL_WINDOW_MS", () => {
    expect(burstEnd(reconnects, T)).toBe(300_000);
    expect(burstEnd([0, 400_000, 800_000], T)).toBeNull();
    expect(burstEnd([0, 300_000, 600_000, 650_000], T)).toBe(650_000);
    expect(burstEnd([1, 2], T)).toBeNull();
  });

  it("is suspected after a burst then STALL_SILENCE_MS of silence on a connected stream in stream mode", () => {
    let r = stuck();
    expect(r.state.mode).toBe("stream");
    // Heartbeats keep coming, so the consumer stays attached; silence is about messages.
    r = run([beat(600_000, { connected: true }), beat(899_999, { connected: true })], r.state);
    expect(r.state.routing).toBe("ok");
    expect(nextDeadline(r.state, T)).toBe(900_000);
    r = run([tick(900_000)], r.state);
    expect(r.state.routing).toBe("suspected_stuck");
    expect(r.alerts).toEqual([expect.objectContaining({ incident: "stuck_routing", phase: "open" })]);
    expect(r.alerts[0]!.text).toContain("HTTP");
    expect(run([tick(2_000_000)], r.state).alerts).toEqual([]);
  });

  it("is not suspected while the stream reports itself disconnected", () => {
    let r = stuck();
    r = run([beat(400_000, { connected: false }), tick(2_000_000)], r.state);
    expect(r.state.routing).toBe("ok");
  });

  it("is not suspected when a message arrived after the burst", () => {
    let r = stuck();
    r = run([beat(400_000, { connected: true, lastMessageAt: 350_000 }), tick(2_000_000)], r.state);
    expect(r.state.routing).toBe("ok");
  });

  it("clears with one resolution notice when a Stream message arrives", () => {
    let r = run([tick(900_000)], stuck().state);
    r = run([beat(950_000, { connected: true, lastMessageAt: 940_000 })], r.state);
    expect(r.state.routing).toBe("ok");
    expect(r.alerts).toEqual([expect.objectContaining({ incident: "stuck_routing", phase: "resolved" })]);
    expect(run([tick(5_000_000)], r.state).state.routing).toBe("ok");
  });

  it("clears when a callback arrives, and the mode moves to webhook", () => {
    let r = run([tick(900_000)], stuck().state);
    r = run([cb(950_000)], r.state);
    expect(r.state).toMatchObject({ routing: "ok", mode: "webhook", stallSince: null });
    expect(r.alerts.map((a) => `${a.incident}:${a.phase}`)).toContain("stuck_routing:resolved");
  });

  it("keeps only the reconnects a stall check can still need", () => {
    const r = run([beat(10, { connected: true, reconnects: [1, 2, 3] }), tick(5_000_000)]);
    expect(r.state.reconnects).toEqual([]);
  });
});
