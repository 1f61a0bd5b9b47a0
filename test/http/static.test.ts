import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BASE } from "../harness/workerd/dingtalk";

describe("the console and the OpenAPI document, served by the Worker", () => {
  it("serves the console page, its script and stylesheet with the security headers, without a token", async () => {
    const page = await SELF.fetch(`${BASE}/console`);
    expect([page.status, page.headers.get("content-type")]).toEqual([200, "text/html; charset=utf-8"]);
    const html = await page.text();
    expect(html).toContain('src="/console/main.mjs"');
    expect(page.headers.get("content-security-policy")).toContain("require-trusted-types-for 'script'");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    for (const [path, type] of [
      ["/console/main.mjs", "text/javascript; charset=utf-8"],
      ["/console/console.css", "text/css; charset=utf-8"],
    ]) {
      const res = await SELF.fetch(`${BASE}${path}`);
      expect([res.status, res.headers.get("content-type")], path).toEqual([200, type]);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect((await res.text()).length).toBeGreaterThan(100);
    }
  });

  it("answers an unchanged file with 304 and no body, a changed one in full", async () => {
    const first = await SELF.fetch(`${BASE}/console/main.mjs`);
    const etag = first.headers.get("etag")!;
    await first.arrayBuffer();
    expect(etag).toMatch(/^"[\w-]{22}"$/);
    expect(first.headers.get("cache-control")).toBe("no-cache");
    const again = await SELF.fetch(`${BASE}/console/main.mjs`, { headers: { "if-none-match": `W/"other", ${etag}` } });
    expect([again.status, await again.text()]).toEqual([304, ""]);
    const other = await SELF.fetch(`${BASE}/console/main.mjs`, { headers: { "if-none-match": '"other"' } });
    expect(other.status).toBe(200);
    await other.arrayBuffer();
  });

  it("redirects the trailing slash away, and names a file it does not have", async () => {
    const slash = await SELF.fetch(`${BASE}/console/`, { redirect: "manual" });
    expect([slash.status, slash.headers.get("location")]).toEqual([301, "/console"]);
    const missing = await SELF.fetch(`${BASE}/console/nope.mjs`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: "not_found", message: "no file /console/nope.mjs" } });
  });

  it("serves the OpenAPI document to any origin, and answers HEAD without a body", async () => {
    const res = await SELF.fetch(`${BASE}/openapi.json`);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("content-security-policy")).toBeNull();
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toContain("/v1/{app}/pull");
    const head = await SELF.fetch(`${BASE}/openapi.json`, { method: "HEAD" });
    expect([head.status, await head.text()]).toEqual([200, ""]);
  });
});
