// Reads the project's Markdown the way a reader does: its code blocks with what their info strings
// say (```sh no-test, ```sh file=NAME), its links, and its headings as GitHub makes anchors of them.

export interface CodeBlock {
  /** The line of the opening fence, from 1. */
  line: number;
  lang: string;
  /** Words after the language: `no-test` says the block cannot run here (a deploy, a server's file). */
  flags: Set<string>;
  /** `file=NAME`: the block is a file the blocks around it use, written rather than run. */
  file: string | undefined;
  code: string;
}

export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^([ \t]*)(`{3,})(\S*)[ \t]*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, lang, rest] = open as unknown as [string, string, string, string, string];
    const words = rest.split(/\s+/).filter(Boolean);
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && lines[j]!.trim() !== fence; j++) body.push(lines[j]!.slice(indent.length));
    blocks.push({
      line: i + 1,
      lang,
      flags: new Set(words.filter((w) => !w.includes("="))),
      file: words.find((w) => w.startsWith("file="))?.slice(5),
      code: body.join("\n"),
    });
    i = j;
  }
  return blocks;
}

const FENCED = /^([ \t]*)(`{3,})[^\n]*\n[\s\S]*?^\1\2[ \t]*$/gm;

/** Markdown outside code blocks and code spans: links in examples are not the document's own. */
export function prose(markdown: string): string {
  return withoutFences(markdown).replace(/`[^`\n]*`/g, "``");
}

/** Blank lines in place of code blocks, so line numbers stay true. */
function withoutFences(markdown: string): string {
  return markdown.replace(FENCED, (block) => block.replace(/[^\n]/g, ""));
}

/** Every `[text](target)` link and `<https://...>` autolink, with its line. */
export function links(markdown: string): { target: string; line: number }[] {
  const found: { target: string; line: number }[] = [];
  prose(markdown)
    .split("\n")
    .forEach((text, i) => {
      for (const m of text.matchAll(/\]\(([^)\s]+)\)|<(https?:\/\/[^>\s]+)>/g)) found.push({ target: (m[1] ?? m[2])!, line: i + 1 });
    });
  return found;
}

/** The anchors GitHub gives a document's headings: lower case, punctuation dropped, spaces to dashes. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const heading of headings(markdown)) {
    const slug = heading
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    result.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return result;
}

/** The document's headings' texts, for references by name ("see _Cost_"). */
export function headings(markdown: string): string[] {
  return [...withoutFences(markdown).matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => m[1]!.trim());
}
