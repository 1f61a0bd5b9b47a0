// npm run bench's backlog phases. Two apps take the same callbacks, one message per conversation
// over many conversations: `backlog` with ordering on (the default) and `backlog-off` with ORDERING
// off; the floor's queue gets as many rows. All three are drained 100 a pull, each pull acked, in
// turn in short slices (a shared machine's load shifts within seconds). Then each app's delivered
// events are replayed twice, so a pull can be timed with twice as many events queued, two per
// conversation, against the same pull with 10 queued.
import { BridgeClient } from "../src/client/bridge-client";
import { sampleRobotMessage } from "../src/dingtalk/sample-messages";
import { summarize } from "../test/harness/stats";
import { post, signAhead, signedHeaders } from "./callbacks";

export const ON_APP = "backlog";
export const OFF_APP = "backlog-off";
export const SMALL_APP = "small";
const TOKEN = "local-dev-consumer-token";
const BATCH = 100;
/** Pulls each side makes before the next side's turn. */
const PULLS_PER_SLICE = 10;

/** The i-th message of the backlog: a conversation of its own. */
const backlogMessage = (i: number) => JSON.stringify(sampleRobotMessage({ conversationId: `cid-bench-${i}` }, i));

/** `conversations` callbacks to each backlog app, one per conversation; 10 to the small app over 5 conversations. */
export async function fillBacklogs(bridgeUrl: string, conversations: number, concurrency: number): Promise<void> {
  await signAhead(2 * conversations + 10);
  const send = async (app: string, body: string) => {
    if ((await post(`${bridgeUrl}/dingtalk/${app}/robot`, signedHeaders(), body)) !== 200) throw new Error(`a callback to ${app} failed`);
  };
  for (let i = 0; i < 10; i++) await send(SMALL_APP, JSON.stringify(sampleRobotMessage({ conversationId: `cid-small-${i % 5}` }, i)));
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < conversations) {
        const body = backlogMessage(next++);
        await Promise.all([send(ON_APP, body), send(OFF_APP, body)]);
      }
    }),
  );
}

/** The floor's queue: `rows` rows of a backlog message's size, in one statement. */
export async function fillFloor(floorUrl: string, rows: number): Promise<void> {
  const res = await fetch(`${floorUrl}/fill?object=drain&n=${rows}`, { method: "POST", body: backlogMessage(0) });
  if (res.status !== 200) throw new Error(`the floor's fill failed: ${res.status}`);
}

export interface DrainFigures {
  events: number;
  eventsPerSec: number;
}

/** Drains the three backlogs in turn, PULLS_PER_SLICE pulls each, until all are empty. */
export async function drainRace(bridgeUrl: string, floorUrl: string): Promise<Record<"on" | "off" | "floor", DrainFigures>> {
  const bridgeStep = (app: string) => {
    const client = new BridgeClient({ url: bridgeUrl, token: TOKEN, app, consumer: "bench-drain" });
    return async () => {
      const { events } = await client.pull({ max: BATCH, leaseMs: 60_000, held: [] });
      if (events.length) await client.ack(events.map((e) => e.leaseId));
      return events.length;
    };
  };
  const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
  const floorStep = async () => {
    const res = await fetch(`${floorUrl}/lease?object=drain`, {
      method: "POST",
      headers,
      body: JSON.stringify({ max: BATCH, leaseMs: 60_000, consumer: "bench-drain", held: [] }),
    });
    const { events } = JSON.parse(await res.text()) as { events: { leaseId: string }[] };
    if (events.length) {
      const ack = await fetch(`${floorUrl}/ack?object=drain`, {
        method: "POST",
        headers,
        body: JSON.stringify({ leaseIds: events.map((e) => e.leaseId) }),
      });
      JSON.parse(await ack.text());
    }
    return events.length;
  };
  const sides = [
    { name: "on" as const, step: bridgeStep(ON_APP) },
    { name: "off" as const, step: bridgeStep(OFF_APP) },
    { name: "floor" as const, step: floorStep },
  ].map((s) => ({ ...s, events: 0, ms: 0, done: false }));
  for (let round = 0; sides.some((s) => !s.done); round++) {
    for (let k = 0; k < sides.length; k++) {
      const side = sides[(round + k) % sides.length]!;
      if (side.done) continue;
      const t0 = performance.now();
      for (let i = 0; i < PULLS_PER_SLICE && !side.done; i++) {
        const n = await side.step();
        side.events += n;
        side.done = n === 0;
      }
      side.ms += performance.now() - t0;
    }
  }
  const figures = (name: string) => {
    const s = sides.find((x) => x.name === name)!;
    return { events: s.events, eventsPerSec: s.events / (s.ms / 1000) };
  };
  return { on: figures("on"), off: figures("off"), floor: figures("floor") };
}

/** Every delivered event of the app queued again, twice (replay takes at most 10,000 a call). */
export async function replayTwice(bridgeUrl: string, app: string): Promise<number> {
  const client = new BridgeClient({ url: bridgeUrl, token: TOKEN, app, consumer: "bench-replay" });
  const last = (await client.history(0, 1, { order: "desc" })).events[0]!.seq;
  let replayed = 0;
  for (let pass = 0; pass < 2; pass++) {
    let fromSeq: number | null = 0;
    while (fromSeq !== null) {
      const res = await client.replay({ fromSeq, toSeq: last });
      replayed += res.replayed;
      fromSeq = (res.nextFromSeq as number | null) ?? null;
    }
  }
  return replayed;
}

/** One pull of 10 (with `held`, as the client's drain sends it) and its nack, the apps in turn; p50 and p99 after a warm-up. */
export async function pullCosts(bridgeUrl: string, apps: readonly string[], samples = 120) {
  const clients = apps.map((app) => new BridgeClient({ url: bridgeUrl, token: TOKEN, app, consumer: "pullcost" }));
  const times = apps.map(() => [] as number[]);
  for (let i = 0; i < samples; i++) {
    for (let k = 0; k < clients.length; k++) {
      const which = (i + k) % clients.length;
      const t0 = performance.now();
      const { events } = await clients[which]!.pull({ max: 10, leaseMs: 60_000, held: [] });
      times[which]!.push(performance.now() - t0);
      await clients[which]!.nack(events.map((e) => e.leaseId));
    }
  }
  return times.map((t) => summarize(t.slice(20)));
}
