import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createLanguageResolver, entityExtension } from "../src/index";

describe("entityExtension", () => {
  it.each([
    ["main.go", "go"],
    ["app.test.js", "test.js"],
    ["a.b.c.d", "c.d"],
    [".bashrc", "bashrc"],
    ["/home/bob/.bashrc", "bashrc"],
    ["/home/bob/dev/wakapi.go", "go"],
    ["~/dev/file.blade.php", "blade.php"],
    ["backup.sql.gz", "sql.gz"],
    ["C:\\Users\\bob\\app.test.ts", "test.ts"],
    ["C:\\Users\\bob.d\\Makefile", null],
    ["/etc/nginx.d/Makefile", null],
    ["/dir.with.dots/file", null],
    ["Makefile", null],
    ["", null],
    ["file.", ""],
    ["a..js", ".js"],
    ["..", "."],
    ["https://github.com/muety/wakapi", null],
    ["https://example.com/index.html", "html"],
    ["mixed/sep\\name.tar.gz", "tar.gz"],
  ] as const)("%j -> %j", (entity, expected) => {
    expect(entityExtension(entity)).toBe(expected);
  });

  it("is null for a NULL entity", () => {
    expect(entityExtension(null)).toBeNull();
  });

  it("matches the split/join wording of SEMANTICS.md on random paths", () => {
    const reference = (entity: string): string | null => {
      const name = entity.split(/[/\\]/).pop()!;
      const parts = name.split(".");
      if (parts.length < 2) return null;
      return parts.slice(Math.max(parts.length - 2, 1)).join(".");
    };
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z./\\]{0,12}$/), (entity) => {
        expect(entityExtension(entity)).toBe(reference(entity));
      }),
      { numRuns: 2000 },
    );
  });
});

describe("createLanguageResolver", () => {
  it("prefers the more specific mapping and leaves unmatched extensions alone (wakapi#928)", () => {
    const resolve = createLanguageResolver([
      { extension: "ts", language: "Svelte" },
      { extension: "js", language: "PlainJS" },
      { extension: "test.js", language: "Jest" },
    ]);
    expect(resolve("/home/bob/dev/app.ts", "TypeScript")).toBe("Svelte");
    expect(resolve("/home/bob/dev/app.tsx", "TypeScript")).toBe("TypeScript");
    expect(resolve("/home/bob/dev/app.test.js", "JavaScript")).toBe("Jest");
    expect(resolve("/home/bob/dev/app.js", "JavaScript")).toBe("PlainJS");
  });

  it("follows Wakapi's Heartbeat.Augment cases", () => {
    const resolve = createLanguageResolver([
      { extension: "py", language: "Python3" },
      { extension: "foo", language: "Foo Script" },
      { extension: "php", language: "PHP 8" },
      { extension: "blade.php", language: "Blade" },
    ]);
    expect(resolve("~/dev/file.py", "Python")).toBe("Python3");
    expect(resolve("~/dev/file.blade.php", "unknown")).toBe("Blade");
    expect(resolve("~/dev/file.php", "PHP")).toBe("PHP 8");
  });

  it("does not care about the order of the mappings", () => {
    const resolve = createLanguageResolver([
      { extension: "test.js", language: "Jest" },
      { extension: "js", language: "PlainJS" },
    ]);
    expect(resolve("app.test.js", "JavaScript")).toBe("Jest");
    expect(resolve("app.spec.js", "JavaScript")).toBe("PlainJS");
  });

  it("matches only whole dot-separated segments", () => {
    const resolve = createLanguageResolver([{ extension: "s", language: "Assembly" }]);
    expect(resolve("boot.s", "x")).toBe("Assembly");
    expect(resolve("app.js", "JavaScript")).toBe("JavaScript");
    expect(resolve("app.test.s", "x")).toBe("Assembly");
  });

  it("never matches the file name part (a.b.c.d has extension c.d)", () => {
    const resolve = createLanguageResolver([{ extension: "b.c.d", language: "Nope" }]);
    expect(resolve("a.b.c.d", "Keep")).toBe("Keep");
    expect(createLanguageResolver([{ extension: "c.d", language: "CD" }])("a.b.c.d", "Keep")).toBe("CD");
  });

  it("maps dotfiles by their name after the dot", () => {
    const resolve = createLanguageResolver([{ extension: "bashrc", language: "Bash" }]);
    expect(resolve("/home/bob/.bashrc", null)).toBe("Bash");
  });

  it("replaces NULL languages, and keeps them without an extension or mapping", () => {
    const resolve = createLanguageResolver([{ extension: "go", language: "Go" }]);
    expect(resolve("main.go", null)).toBe("Go");
    expect(resolve("Makefile", null)).toBeNull();
    expect(resolve(null, "Go")).toBe("Go");
    expect(resolve("main.rs", null)).toBeNull();
  });

  it("lets the later of two identical extensions win and ignores empty ones", () => {
    const resolve = createLanguageResolver([
      { extension: "go", language: "First" },
      { extension: "go", language: "Second" },
      { extension: "", language: "Empty" },
    ]);
    expect(resolve("main.go", "Go")).toBe("Second");
    expect(resolve("file.", "Text")).toBe("Text");
    expect(resolve("Makefile", "Make")).toBe("Make");
  });

  it("is case-sensitive, like Wakapi", () => {
    const resolve = createLanguageResolver([{ extension: "go", language: "Golang" }]);
    expect(resolve("MAIN.GO", "Go")).toBe("Go");
  });

  it("agrees with a literal reading of the rule on random entities and mappings", () => {
    const segment = fc.constantFrom("a", "b", "js", "test", "");
    const extensionArb = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join("."));
    fc.assert(
      fc.property(
        fc.array(fc.record({ extension: extensionArb, language: fc.constantFrom("L1", "L2", "L3") }), {
          maxLength: 6,
        }),
        fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => `/p/${s.join(".")}`),
        (mappings, entity) => {
          const extension = entityExtension(entity);
          let expected: string | null = "orig";
          let best = -1;
          if (extension !== null) {
            for (const m of mappings) {
              const dots = m.extension.split(".").length - 1;
              // `>=`: a later duplicate wins; distinct applicable extensions never tie.
              if (m.extension !== "" && `.${extension}`.endsWith(`.${m.extension}`) && dots >= best) {
                expected = m.language;
                best = dots;
              }
            }
          }
          expect(createLanguageResolver(mappings)(entity, "orig")).toBe(expected);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
