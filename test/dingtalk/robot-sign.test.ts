import { describe, expect, it } from "vitest";
import { checkRobotSign, robotSign } from "../../src/dingtalk/robot-sign";

const TS = "1577262236757";
const SECRET = "this is a secret";
const SIGN = "DJrE6qdyVGCQz9z5r2MDuNcNAhwYnuAkyj13cx169CA=";

describe("robot callback sign", () => {
  it("matches DingTalk's check value", async () => {
    expect(await robotSign(SECRET, TS)).toBe(SIGN);
  });

  const base = { secret: SECRET, timestamp: TS, sign: SIGN, nowMs: Number(TS), windowMs: 3_600_000, futureSkewMs: 300_000 };

  it("accepts the check value up to the window old, and up to the clock skew ahead", async () => {
    expect(await checkRobotSign(base)).toEqual({ ok: true, timestampMs: Number(TS) });
    expect((await checkRobotSign({ ...base, nowMs: Number(TS) + 3_600_000 })).ok).toBe(true);
    expect((await checkRobotSign({ ...base, nowMs: Number(TS) - 300_000 })).ok).toBe(true);
  });

  it("accepts a URL-encoded copy of the sign", async () => {
    expect((await checkRobotSign({ ...base, sign: encodeURIComponent(SIGN) })).ok).toBe(true);
  });

  it.each([
    ["missing timestamp", { timestamp: undefined }, "missing_signature"],
    ["missing sign", { sign: null }, "missing_signature"],
    ["non-numeric timestamp", { timestamp: "12ab" }, "bad_timestamp"],
    ["timestamp in seconds", { timestamp: "1577262236" }, "stale_timestamp"],
    ["an hour and a millisecond late", { nowMs: Number(TS) + 3_600_001 }, "stale_timestamp"],
    ["five minutes and a millisecond ahead", { nowMs: Number(TS) - 300_001 }, "stale_timestamp"],
    ["wrong secret", { secret: "another secret" }, "bad_signature"],
    ["sign not base64", { sign: "not base64!" }, "bad_signature"],
    ["sign of the wrong length", { sign: "AAAA" }, "bad_signature"],
    ["bad percent-encoding", { sign: "%E0%A4%A" }, "bad_signature"],
  ] as const)("refuses %s", async (_name, change, code) => {
    const result = await checkRobotSign({ ...base, ...change });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.code).toBe(code);
  });
});
