// The OpenAPI document is valid OpenAPI 3.1 (checked by
// @seriousme/openapi-schema-validator), and every route's real answers, in
// success and in error, have a documented status, media type and a body that
// validates against the documented schema (ajv, JSON Schema 2020-12).
import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import { ROUTES } from "../../plugins/admin-http/openapi.ts";
import { adminNode, TOKEN } from "../support/admin_node.ts";
import { chunk, rawRequest } from "../support/raw_http.ts";

type Doc = {
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  components: { responses: Record<string, unknown> };
};

/** What one request returned, as the checker needs it. */
interface Answer {
  method: string;
  path: string;
  status: number;
  contentType: string;
  body: string;
}

const auth = { authorization: `Bearer ${TOKEN}` };
const jsonHeaders = { ...auth, "content-type": "application/json" };

/** Checks `answer` against `doc`: its status is documented for its route, and its body fits the schema. */
function checker(doc: Doc) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ ...doc, $id: "openapi" });
  const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");
  const seen = new Set<string>();
  return {
    check(answer: Answer) {
      const operation = doc.paths[answer.path]?.[answer.method.toLowerCase()];
      const where = `${answer.method} ${answer.path} → ${answer.status}`;
      let schemaPath: string;
      let response: { $ref?: string; content?: Record<string, unknown> };
      if (!operation) {
        // Unknown routes answer 404 with the error body, as the document's description says.
        assert.equal(answer.status, 404, `${where}: undocumented route`);
        response = { content: { "application/json": {} } };
        schemaPath = "openapi#/components/schemas/Error";
      } else {
        response = operation.responses[String(answer.status)] as typeof response;
        assert.ok(response, `${where}: status not documented (documented: ${Object.keys(operation.responses)})`);
        let base = `openapi#/${
          pointer("paths", answer.path, answer.method.toLowerCase(), "responses", String(answer.status))
        }`;
        if (response.$ref) {
          const name = response.$ref.split("/").at(-1)!;
          response = doc.components.responses[name] as typeof response;
          base = `openapi#/${pointer("components", "responses", name)}`;
        }
        const media = answer.contentType.split(";")[0].trim();
        assert.ok(response.content?.[media], `${where}: media type ${media} not documented`);
        schemaPath = `${base}/${pointer("content", media, "schema")}`;
      }
      const media = answer.contentType.split(";")[0].trim();
      const value = media === "application/json" ? JSON.parse(answer.body) : answer.body;
      const validate = ajv.compile({ $ref: schemaPath });
      assert.ok(validate(value), `${where}: body does not match ${schemaPath}: ${ajv.errorsText(validate.errors)}`);
      seen.add(`${answer.method.toLowerCase()} ${answer.path} ${answer.status}`);
    },
    seen,
  };
}

async function answer(url: string, method: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url + path, { method, ...init });
  return {
    method,
    path: new URL(url + path).pathname,
    status: response.status,
    contentType: response.headers.get("content-type") ?? "",
    body: await response.text(),
  };
}

Deno.test("admin: the OpenAPI document is valid OpenAPI 3.1", async () => {
  const node = await adminNode();
  try {
    const document = await (await fetch(`${node.url}/openapi.json`, { headers: auth })).json();
    const result = await new Validator().validate(document);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
    for (const route of ROUTES) {
      const responses = document.paths[route.path]?.[route.method]?.responses;
      assert.ok(responses, `${route.method} ${route.path}`);
      assert.equal(
        "401" in responses,
        route.auth !== "none",
        `${route.method} ${route.path}: 401 iff a token is needed`,
      );
      for (const status of ["414", "421", "500"]) {
        assert.ok(status in responses, `${route.method} ${route.path} ${status}`);
      }
      if (route.auth === "write") assert.ok("409" in responses && "413" in responses, `${route.path}: 409 and 413`);
      if (route.body) assert.ok("400" in responses && "415" in responses, `${route.path}: 400 and 415`);
    }
    assert.deepEqual(document.components.schemas.ForceMode.required, ["mode", "reason"]);
  } finally {
    await node.close();
  }
});

Deno.test("admin: every route's real answers, success and error, match the OpenAPI document", async () => {
  const node = await adminNode({ maxBodyBytes: 1024, maxUrlBytes: 2048 }, {}, {
    unavailableModes: { hybrid: "its compression plugin failed to load" },
  });
  const { url } = node;
  try {
    const doc = await (await fetch(`${url}/openapi.json`, { headers: auth })).json() as Doc;
    const { check, seen } = checker(doc);

    // Success on every route.
    for (const route of ROUTES.filter((r) => r.method === "get" && r.path !== "/events")) {
      check(await answer(url, "GET", route.path, { headers: auth }));
    }
    check(
      await answer(url, "PATCH", "/flags", { headers: jsonHeaders, body: JSON.stringify({ v3RolloutPercentage: 20 }) }),
    );
    check(
      await answer(url, "POST", "/mode", {
        headers: jsonHeaders,
        body: '{"mode":"internet","reason":"openapi","holdMs":60000}',
      }),
    );
    check(await answer(url, "GET", "/status", { headers: auth })); // with a hold
    check(await answer(url, "DELETE", "/mode", { headers: auth }));
    check(await answer(url, "POST", "/detect", { headers: auth }));
    check(await answer(url, "GET", "/stats", { headers: auth })); // with history
    check(await answer(url, "GET", "/samples", { headers: auth }));
    const events = await fetch(`${url}/events`, { headers: auth });
    const reader = events.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    check({
      method: "GET",
      path: "/events",
      status: events.status,
      contentType: events.headers.get("content-type")!,
      body: first,
    });

    // 409: a switch into a mode that cannot be served is refused, with its outcome.
    const refused = await answer(url, "POST", "/mode", {
      headers: jsonHeaders,
      body: '{"mode":"hybrid","reason":"try"}',
    });
    assert.equal(refused.status, 409);
    assert.equal(JSON.parse(refused.body).status, "refused");
    check(refused);

    // Errors on every route.
    for (const route of ROUTES) {
      const method = route.method.toUpperCase();
      if (route.auth !== "none") {
        const anonymous = await fetch(url + route.path, { method });
        check({
          method,
          path: route.path,
          status: anonymous.status,
          contentType: anonymous.headers.get("content-type")!,
          body: await anonymous.text(),
        });
        assert.equal(anonymous.status, 401, `${method} ${route.path} without a token`);
      }
      const long = await answer(url, method, `${route.path}?pad=${"x".repeat(3000)}`, { headers: auth });
      assert.equal(long.status, 414);
      check(long);
      const misdirected = await rawRequest(
        node.server.port,
        `${method} ${route.path} HTTP/1.1\r\nHost: rebound.example\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(misdirected.status, 421);
      check({
        method,
        path: route.path,
        status: 421,
        contentType: misdirected.headers["content-type"],
        body: misdirected.body,
      });
      if (route.auth === "write") {
        const big = await rawRequest(
          node.server.port,
          `${method} ${route.path} HTTP/1.1\r\nHost: 127.0.0.1:${node.server.port}\r\nAuthorization: Bearer ${TOKEN}\r\n` +
            `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunk("x".repeat(1500))}`,
        );
        assert.equal(big.status, 413, `${method} ${route.path} with a large body`);
        check({ method, path: route.path, status: 413, contentType: big.headers["content-type"], body: big.body });
      }
      if (route.body) {
        const bad = await answer(url, method, route.path, { headers: jsonHeaders, body: '{"nope":1}' });
        assert.equal(bad.status, 400);
        check(bad);
        const text = await answer(url, method, route.path, {
          headers: { ...auth, "content-type": "text/plain" },
          body: "{}",
        });
        assert.equal(text.status, 415);
        check(text);
      }
    }
    check(await answer(url, "GET", "/no-such-route", { headers: auth }));
    // 500: a failing handler.
    node.manager.getStats = () => {
      throw new Error("broken");
    };
    const broken = await answer(url, "GET", "/stats", { headers: auth });
    assert.equal(broken.status, 500);
    check(broken);

    // Every documented status of the body routes and /mode was met at least once.
    for (
      const key of [
        "post /mode 200",
        "post /mode 409",
        "post /mode 400",
        "post /mode 413",
        "post /mode 415",
        "patch /flags 415",
        "get /healthz 421",
        "get / 200",
        "get /events 200",
      ]
    ) {
      assert.ok(seen.has(key), `${key} was exercised`);
    }
  } finally {
    await node.close();
  }
});
