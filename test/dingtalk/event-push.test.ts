import { describe, expect, it } from "vitest";
import { eventPushAgeMs, readEventPushQuery } from "../../src/dingtalk/event-push";

describe("event push parameters", () => {
  it("takes both documented spellings", () => {
    const q = (params: Record<string, string>) => readEventPushQuery((name) => params[name]);
    expect(q({ msg_signature: "s", timestamp: "1", nonce: "n" })).toEqual({ signature: "s", timestamp: "1", nonce: "n" });
    expect(q({ signature: "s", timeStamp: "1", nonce: "n" })).toEqual({ signature: "s", timestamp: "1", nonce: "n" });
    expect(q({ signature: "s", timestamp: "1" })).toBeNull();
  });

  it("reads the age of second and millisecond timestamps alike", () => {
    const now = 1_608_001_900_000;
    expect(eventPushAgeMs("1608001896814", now)).toBe(3_186);
    expect(eventPushAgeMs("1608001896", now)).toBe(4_000);
    expect(eventPushAgeMs("1608001999999", now)).toBe(99_999);
    expect(eventPushAgeMs("soon", now)).toBeNull();
    expect(eventPushAgeMs("-5", now)).toBeNull();
  });
});
