/**
 * The subset of Python's configparser that BIOMERO's `slurm-config.ini` uses: `[section]` headers,
 * `key = value` or `key: value`, `#`/`;` comment lines, indented continuation lines, keys
 * lower-cased (configparser's optionxform), values trimmed, later duplicates winning.
 * Inline comments are kept as part of the value, as configparser does by default.
 */
export type Ini = Map<string, Map<string, string>>;

export class IniError extends Error {}

export function parseIni(text: string): Ini {
  const ini: Ini = new Map();
  let section: Map<string, string> | null = null;
  let lastKey: string | null = null;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((line, index) => {
    if (/^\s*([#;].*)?$/.test(line)) {
      lastKey = null;
      return;
    }
    if (/^\s/.test(line) && section && lastKey !== null) {
      // continuation of the previous value
      section.set(lastKey, `${section.get(lastKey)}\n${line.trim()}`);
      return;
    }
    const header = /^\[([^\]]+)\]\s*$/.exec(line);
    if (header) {
      const name = header[1].trim();
      section = ini.get(name) ?? new Map();
      ini.set(name, section);
      lastKey = null;
      return;
    }
    const pair = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line.trim());
    if (!pair) throw new IniError(`line ${index + 1}: expected "key = value" or "[section]"`);
    if (!section) throw new IniError(`line ${index + 1}: "${pair[1]}" appears before any [section]`);
    lastKey = pair[1].toLowerCase();
    section.set(lastKey, pair[2].trim());
  });
  return ini;
}
