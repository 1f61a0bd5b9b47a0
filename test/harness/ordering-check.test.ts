// The ordering checker that the end-to-end test and the chaos runs rely on: it passes what the
// contract allows and names each thing it forbids.
import { describe, expect, it } from "vitest";
import { checkOrdering, type Run } from "./ordering-check";

const run = (pid: number, seq: number, start: number, end: number | null, conversation = "c1"): Run => ({
  pid,
  consumer: `gw-${pid}`,
  conversation,
  seq,
  msgId: `m${conversation}-${seq}`,
  start,
  end,
});

describe("checkOrdering", () => {
  it("passes one conversation after another across consumers, and conversations side by side", () => {
    const report = checkOrdering([run(1, 1, 0, 10), run(2, 2, 11, 20), run(1, 3, 21, 30), run(2, 4, 0, 30, "c2")], []);
    expect(report).toEqual({ conversations: 2, runs: 4, cut: 0, reruns: 0, overlaps: [], outOfOrder: [], unexplainedReruns: [] });
  });

  it("names two runs of one conversation at once, by two consumers or by one", () => {
    expect(checkOrdering([run(1, 1, 0, 10), run(2, 2, 5, 20)], []).overlaps).toEqual([
      "c1: seq 2 (gw-2, pid 2) started while seq 1 (gw-1, pid 1) ran",
    ]);
    expect(checkOrdering([run(1, 1, 0, 10), run(1, 2, 9, 20)], []).overlaps).toHaveLength(1);
    // A long run still going hides behind a short one that ended: the sweep keeps the latest end.
    expect(checkOrdering([run(1, 1, 0, 50), run(2, 2, 10, 20), run(3, 3, 30, 40)], []).overlaps).toHaveLength(2);
  });

  it("counts a cut-off run until its process was gone, and for ever if it never was", () => {
    const cut = [run(1, 1, 0, null), run(2, 1, 120, 130)];
    expect(checkOrdering(cut, [{ pid: 1, at: 90, over: 100 }]).overlaps).toEqual([]);
    expect(checkOrdering(cut, [{ pid: 1, at: 140, over: 150 }]).overlaps).toHaveLength(1);
    expect(checkOrdering(cut, []).overlaps).toHaveLength(1);
  });

  it("names a message first completed after a later one of its conversation", () => {
    expect(checkOrdering([run(1, 2, 0, 10), run(2, 1, 20, 30), run(2, 2, 40, 50, "c2")], []).outOfOrder).toEqual([
      "c1: seq 1 (pid 2) completed after seq 2 (pid 1)",
    ]);
  });

  it("takes a message cut off and run again as its first completion", () => {
    const report = checkOrdering(
      [run(1, 1, 0, 10), run(1, 2, 11, null), run(2, 2, 200, 210), run(2, 3, 211, 220)],
      [{ pid: 1, at: 15, over: 20 }],
    );
    expect(report).toMatchObject({ cut: 1, reruns: 0, overlaps: [], outOfOrder: [], unexplainedReruns: [] });
  });

  it("allows a completed message to run again only across a kill of its process or of the runtime", () => {
    // Completed by pid 1, whose ack the kill lost; pid 2 runs it again, then goes on.
    const again = [run(1, 1, 0, 10), run(2, 1, 200, 210), run(2, 2, 211, 220)];
    expect(checkOrdering(again, [{ pid: 1, at: 12, over: 20 }])).toMatchObject({ reruns: 1, outOfOrder: [], unexplainedReruns: [] });
    expect(checkOrdering(again, [{ at: 12, over: 150 }])).toMatchObject({ reruns: 1, unexplainedReruns: [] });
    expect(checkOrdering(again, []).unexplainedReruns).toEqual(["c1: seq 1 completed by pid 1, then again by pid 2"]);
    // Another process's kill explains nothing; nor does a kill before the first completion.
    expect(checkOrdering(again, [{ pid: 3, at: 12, over: 20 }]).unexplainedReruns).toHaveLength(1);
    expect(checkOrdering([run(1, 1, 0, 10), run(2, 1, 200, 210)], [{ pid: 1, at: 2, over: 5 }]).unexplainedReruns).toHaveLength(1);
  });
});
