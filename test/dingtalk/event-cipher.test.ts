import { describe, expect, it } from "vitest";
import { decryptEvent, encryptEvent, eventCipherKey } from "../../src/dingtalk/event-cipher";
import { openEnvelope, sealEnvelope } from "../../src/dingtalk/event-envelope";
import { sealEvent } from "../../src/dingtalk/event-seal";
import { checkEventSignature, eventSignature } from "../../src/dingtalk/event-signature";

const TOKEN = "mryue";
const AES_KEY = "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7";
const OWNER = "ding6ccabc44d2c8d38b";
const SIGNATURE = "03044561471240d4a14bb09372dfcfd4fd0e40cb";
const TIMESTAMP = "1608001896814";
const NONCE = "WL4PK6yA";
const ENCRYPT =
  "0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd15NRPvNvmBKyDCYxxOK+HZeKju4yhELOFchzNukR+t8SB/qk4ROMu3";

const RAW_KEY = "4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3ij";
const RAW_PLAIN = "5p7b4jXMWUshiBCosucc111esssuite4xxxxxxxxxxxxxxx221";
const RAW_CIPHER = "DwCJ9BMxu4r+VTe9TD+AWc1yfxqs7d2YgepFe4XruMgh1+6pTjCCq4nqAM6StRcafOx5a1OfwmX3ckSBifatlA==";

const enc = new TextEncoder();
const dec = new TextDecoder();

describe("event push crypto", () => {
  it("computes the check-value signature", async () => {
    expect(await eventSignature(TOKEN, TIMESTAMP, NONCE, ENCRYPT)).toBe(SIGNATURE);
    expect(await checkEventSignature({ token: TOKEN, timestamp: TIMESTAMP, nonce: NONCE, encrypt: ENCRYPT }, SIGNATURE)).toBe(true);
    expect(await checkEventSignature({ token: "other", timestamp: TIMESTAMP, nonce: NONCE, encrypt: ENCRYPT }, SIGNATURE)).toBe(false);
  });

  it("decrypts the check value into the check_url handshake", async () => {
    const cipher = (await eventCipherKey(AES_KEY))!;
    const plain = (await decryptEvent(cipher, ENCRYPT))!;
    expect(dec.decode(plain.subarray(0, 16))).toBe("l7Y3EcX2CU5w8av3");
    expect(openEnvelope(plain)).toEqual({ message: '{"EventType":"check_url"}', ownerKey: OWNER });
  });

  it("re-encrypts the check value byte for byte from the same random prefix", async () => {
    const cipher = (await eventCipherKey(AES_KEY))!;
    const sealed = sealEnvelope('{"EventType":"check_url"}', OWNER, enc.encode("l7Y3EcX2CU5w8av3"));
    expect(await encryptEvent(cipher, sealed)).toBe(ENCRYPT);
  });

  it("matches the raw AES-layer check value both ways", async () => {
    const cipher = (await eventCipherKey(RAW_KEY))!;
    expect(await encryptEvent(cipher, enc.encode(RAW_PLAIN))).toBe(RAW_CIPHER);
    expect(dec.decode((await decryptEvent(cipher, RAW_CIPHER))!)).toBe(RAW_PLAIN);
  });

  it("round-trips every padding length from 1 to 32", async () => {
    const cipher = (await eventCipherKey(AES_KEY))!;
    for (let n = 0; n < 70; n++) {
      const plain = enc.encode("é".repeat(n));
      const back = await decryptEvent(cipher, await encryptEvent(cipher, plain));
      expect(back).toEqual(plain);
    }
  });

  it("answers a handshake reply that verifies and decrypts to success", async () => {
    const cipher = (await eventCipherKey(AES_KEY))!;
    const reply = await sealEvent(cipher, TOKEN, OWNER, "success", 1_700_000_000_000);
    expect(reply.timeStamp).toBe("1700000000000");
    expect(await eventSignature(TOKEN, reply.timeStamp, reply.nonce, reply.encrypt)).toBe(reply.msg_signature);
    expect(openEnvelope((await decryptEvent(cipher, reply.encrypt))!)).toEqual({ message: "success", ownerKey: OWNER });
  });

  it.each([
    ["bad base64", "@@@"],
    ["empty", ""],
    ["not a whole block", ENCRYPT.slice(0, 40)],
    ["truncated by one block", btoa(atob(ENCRYPT).slice(0, 64))],
  ])("refuses %s ciphertext without throwing", async (_name, text) => {
    const cipher = (await eventCipherKey(AES_KEY))!;
    expect(await decryptEvent(cipher, text)).toBeNull();
  });

  it("refuses malformed AES keys", async () => {
    expect(await eventCipherKey("short")).toBeNull();
    expect(await eventCipherKey("!".repeat(43))).toBeNull();
  });
});
