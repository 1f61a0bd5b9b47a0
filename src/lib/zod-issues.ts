// One sentence for a zod failure, naming the first problem by its path, never by the value sent.

export interface Issue {
  path: readonly PropertyKey[];
  message: string;
  code?: string;
  keys?: readonly string[];
}

export function describeIssues(issues: readonly Issue[]): string {
  const first = issues[0];
  if (!first) return "the body is not valid";
  // An unknown key is named by its own path, so a typo points at itself.
  const path = first.code === "unrecognized_keys" && first.keys?.length ? [...first.path, first.keys[0]!] : first.path;
  const where = path.length ? path.map(String).join(".") : "body";
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? "s" : ""})` : "";
  return `${where}: ${first.message}${more}`;
}
