// The format-neutral shape both config parsers produce (UCI and INI) and the
// validator consumes. Values stay raw strings: typing is config-build's job.

export interface ConfigOption {
  /** `option key 'v'` / `key = v` → string; `list key 'v'` / `key[] = v` → string[]. */
  value: string | string[];
  /** Line of the (last) assignment; for a list, of its first item. */
  line?: number;
  /** For a list: the line of each item, parallel to `value`. */
  lines?: number[];
}

export interface ConfigSection {
  type: string;
  /** Absent for an anonymous UCI section (`config forward`). */
  name?: string;
  /** Line of the `config …` / `[…]` header. */
  line?: number;
  options: Map<string, ConfigOption>;
}

/**
 * How a section is named in messages: its name, or uci's `@type[index]` for an
 * anonymous one (index counted among sections of the same type).
 */
export function sectionLabels(sections: readonly ConfigSection[]): string[] {
  const seen = new Map<string, number>();
  return sections.map((s) => {
    const index = seen.get(s.type) ?? 0;
    seen.set(s.type, index + 1);
    return s.name ?? `@${s.type}[${index}]`;
  });
}

/**
 * Adds one assignment to a section: a list item is appended, a plain option replaces the earlier value.
 * Returns the earlier option when it was of the other kind (list vs option) and nothing was added: each
 * parser names that clash in its own syntax.
 */
export function addOption(
  section: ConfigSection,
  key: string,
  value: string,
  isList: boolean,
  line: number,
): ConfigOption | undefined {
  const old = section.options.get(key);
  if (old && Array.isArray(old.value) !== isList) return old;
  if (isList) {
    const list: ConfigOption = old ?? { value: [], line, lines: [] };
    (list.value as string[]).push(value);
    list.lines?.push(line);
    section.options.set(key, list);
  } else {
    section.options.set(key, { value, line });
  }
  return undefined;
}
