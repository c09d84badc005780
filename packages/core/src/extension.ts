/**
 * File extensions of heartbeat entities and the per-user language overrides
 * keyed by them (SEMANTICS.md, "Language mappings"; Wakapi's
 * `Duration.Augmented`).
 */
import type { LanguageMapping } from "./types";

/**
 * The extension of an entity, per SEMANTICS.md: the part after the last `/`
 * or `\`, split on `.`; fewer than two parts -> no extension (`null`);
 * otherwise the last two parts joined with `.`, never including the first part.
 * A trailing dot gives the empty extension (`"file."` -> `""`), as the rule says.
 *
 * @example
 * entityExtension("/src/main.go");  // "go"
 * entityExtension("app.test.js");   // "test.js"
 * entityExtension("a.b.c.d");       // "c.d"
 * entityExtension("~/.bashrc");     // "bashrc"
 * entityExtension("C:\\x\\Makefile"); // null
 */
export function entityExtension(entity: string | null): string | null {
  if (entity === null || entity === undefined) return null;
  const nameStart = Math.max(entity.lastIndexOf("/"), entity.lastIndexOf("\\")) + 1;
  const lastDot = entity.lastIndexOf(".");
  if (lastDot < nameStart) return null; // one part only
  const secondLastDot = lastDot > nameStart ? entity.lastIndexOf(".", lastDot - 1) : -1;
  // The first part (before the name's first dot) is the file's name, never part of its extension.
  return entity.slice(secondLastDot >= nameStart ? secondLastDot + 1 : lastDot + 1);
}

/** Replaces a heartbeat's language according to its entity; see {@link createLanguageResolver}. */
export type LanguageResolver = (entity: string | null, language: string | null) => string | null;

const keepLanguage: LanguageResolver = (_entity, language) => language;

/**
 * A function giving a heartbeat's language after the user's mappings.
 *
 * A mapping `ext -> lang` applies when `"." + extension` ends with `"." + ext`;
 * among those that apply, the one whose `ext` has the most dots wins. Two
 * different `ext`s that both apply cannot have the same number of dots (each
 * is the text after one particular dot of `"." + extension`), so the only tie
 * is the same `ext` listed twice: the later entry in `mappings` wins, as when
 * Wakapi loads the rows into a map. Matching is case-sensitive, as Wakapi's.
 * Entities without an extension keep their language. Mappings with an empty
 * `ext` never apply (Wakapi refuses to store them).
 *
 * @example
 * const resolve = createLanguageResolver([{ extension: "js", language: "PlainJS" }, { extension: "test.js", language: "Jest" }]);
 * resolve("/src/app.test.js", "JavaScript"); // "Jest"
 * resolve("/src/app.js", "JavaScript");      // "PlainJS"
 * resolve("/src/app.ts", "TypeScript");      // "TypeScript"
 */
export function createLanguageResolver(mappings: readonly LanguageMapping[]): LanguageResolver {
  const byExtension = new Map<string, string>();
  for (const { extension, language } of mappings) {
    if (extension !== "") byExtension.set(extension, language);
  }
  if (byExtension.size === 0) return keepLanguage;
  return (entity, language) => {
    const extension = entityExtension(entity);
    if (extension === null) return language;
    // The `ext`s that apply are exactly the suffixes of "." + extension that follow a dot;
    // scanning dots left to right tries them from most dots to fewest.
    const dotted = "." + extension;
    for (let dot = 0; dot !== -1; dot = dotted.indexOf(".", dot + 1)) {
      const mapped = byExtension.get(dotted.slice(dot + 1));
      if (mapped !== undefined) return mapped;
    }
    return language;
  };
}
