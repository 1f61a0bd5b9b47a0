// The pieces every operation of the OpenAPI document is made of, each derived from a zod schema the
// routes validate with: bodies, query parameters, path parameters and answers.
import * as z from "../../lib/zod";
import { errorAnswer } from "./responses";

type Schema = z.ZodMiniType;
export type Json = Record<string, unknown>;

/** The document's `components.schemas`, filled as operations refer to schemas by name. */
export class Components {
  readonly schemas: Record<string, unknown> = {};

  /** Registers `schema` under `name` once; answers a reference to it. */
  ref(name: string, schema: Schema, io: "input" | "output" = "output"): Json {
    if (!(name in this.schemas)) this.schemas[name] = jsonSchema(schema, io);
    return { $ref: `#/components/schemas/${name}` };
  }

  /** An answer with a JSON body of the named schema. */
  answer(description: string, name: string, schema: Schema): Json {
    return { description, ...json(this.ref(name, schema)) };
  }

  /** An error answer: `{"error": {"code", "message"}}`, its codes named in the description. */
  error(description: string): Json {
    return this.answer(description, "Error", errorAnswer);
  }

  /** A required JSON request body of the named schema. */
  body(name: string, schema: Schema, required = true): Json {
    return { required, ...json(this.ref(name, schema, "input")) };
  }
}

export function json(schema: object): Json {
  return { content: { "application/json": { schema } } };
}

function jsonSchema(schema: Schema, io: "input" | "output"): Json {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Json;
  return rest;
}

/**
 * The query parameters of a strict object schema, one per key, from the same schema the route
 * parses its query with: types, bounds, enums and defaults come from zod; `descriptions` says what
 * each is for. A key with neither a default nor `optional` is required.
 */
export function queryParameters(schema: z.ZodMiniObject, descriptions: Record<string, string>): Json[] {
  return Object.entries(schema.def.shape).map(([name, field]) => {
    const description = descriptions[name];
    if (description === undefined) throw new Error(`the query parameter "${name}" has no description`);
    const optional = (field as Schema)._zod.optin !== undefined;
    return { name, in: "query", required: !optional, description, schema: jsonSchema(field as Schema, "output") };
  });
}

/** A path parameter whose value the route checks with `schema`. */
export function pathParameter(name: string, description: string, schema: Schema): Json {
  return { name, in: "path", required: true, description, schema: jsonSchema(schema, "input") };
}
