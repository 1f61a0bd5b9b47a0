// Which secret a caller presented: the one that matches exactly, never a prefix, an extension, a
// zero-padded copy or a secret past the compared width.
import { describe, expect, it } from "vitest";
import { secretMatcher } from "../../src/lib/secret-match";

const tokens = [
  { token: "alpha-token", scopes: ["drain"] },
  { token: "beta-token-longer", scopes: ["read"] },
  { token: "x".repeat(600), scopes: ["admin"] },
];
const match = secretMatcher(tokens, (t) => t.token);

describe("secretMatcher", () => {
  it("finds the secret presented, whichever it is", () => {
    expect(match("alpha-token")).toBe(tokens[0]);
    expect(match("beta-token-longer")).toBe(tokens[1]);
    expect(match("x".repeat(600))).toBe(tokens[2]);
  });

  it("refuses prefixes, extensions, zero padding and near misses", () => {
    for (const given of [
      "",
      "alpha",
      "alpha-token ",
      "alpha-token\0",
      "alpha-tokem",
      "beta-token",
      "x".repeat(599),
      "x".repeat(601),
      "ålpha-token",
    ]) {
      expect(match(given), JSON.stringify(given)).toBeUndefined();
    }
  });

  it("matches nothing when there is no secret", () => {
    expect(secretMatcher([], (t: string) => t)("anything")).toBeUndefined();
  });
});
