// Settings that have a default: each is read on its own, and one that is malformed, or that cannot
// work with another, is replaced by its default and reported, so no such mistake takes ingress down.
// The report names the setting and the rule it breaks, never the value that was given.
import type * as z from "../lib/zod";

export interface SettingSpec<T> {
  schema: z.ZodMiniType<T>;
  /** What a good value is, in words: "a whole number of milliseconds from 1000 to 43200000". */
  rule: string;
  fallback: T;
}

/** A setting that fell back to its default, and why. */
export interface SettingProblem {
  setting: string;
  problem: string;
}

export type SettingValues<S extends Record<string, SettingSpec<unknown>>> = {
  [K in keyof S]: S[K] extends SettingSpec<infer T> ? T : never;
};

export function readSettings<S extends Record<string, SettingSpec<unknown>>>(
  specs: S,
  vars: Record<string, unknown>,
): { values: SettingValues<S>; problems: SettingProblem[] } {
  const values: Record<string, unknown> = {};
  const problems: SettingProblem[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    const raw = vars[name];
    if (raw === undefined) {
      values[name] = spec.fallback;
      continue;
    }
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) values[name] = parsed.data;
    else {
      values[name] = spec.fallback;
      problems.push(fallBack(name, `must be ${spec.rule}`, spec.fallback));
    }
  }
  return { values: values as SettingValues<S>, problems };
}

export function fallBack(setting: string, problem: string, fallback: unknown): SettingProblem {
  const used = fallback === undefined ? "it is left unset" : `the default ${String(fallback)} is used`;
  return { setting, problem: `${problem}; ${used}` };
}
