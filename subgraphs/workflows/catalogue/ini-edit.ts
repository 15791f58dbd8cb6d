import { parseIni } from './ini';

/**
 * slurm-config.ini as lines, for editing it the way configupdater does for OMERO.biomero: only the
 * lines of the keys set or deleted change; comments, blank lines, order, unknown keys and sections,
 * separators (`=` or `:`, spacing), line endings and a BOM stay byte for byte. Keys compare
 * lower-cased, as configparser reads them (ini.ts); a section may appear more than once.
 */
interface Line {
  /** without its line ending */
  body: string;
  eol: string;
}

type Kind = { type: 'blank' | 'comment' | 'continuation' } | { type: 'header'; section: string } | { type: 'key'; section: string; key: string };

export class IniDocument {
  private lines: Line[];
  private readonly eol: string;

  /** Throws IniError (ini.ts) when the text is not an ini file BIOMERO could read. */
  constructor(text: string) {
    parseIni(text);
    this.lines =
      text === ''
        ? []
        : text.split(/(?<=\n)/).map((chunk) => {
            const eol = /\r?\n$/.exec(chunk)?.[0] ?? '';
            return { body: chunk.slice(0, chunk.length - eol.length), eol };
          });
    this.eol = text.includes('\r\n') ? '\r\n' : '\n';
  }

  toString(): string {
    return this.lines.map((l) => l.body + l.eol).join('');
  }

  /** Lower-cased keys of a section (every occurrence), in file order. */
  keys(section: string): string[] {
    return this.keyLines(section).map((i) => (this.kinds()[i] as { key: string }).key);
  }

  has(section: string): boolean {
    return this.headers(section).length > 0;
  }

  /**
   * Sets `key` to `value`: the value of its last line in place (earlier duplicates and
   * continuation lines removed), else a new line after the last line of any of `near` (keys that
   * belong with it), else after the section's last key; the section is appended when missing.
   */
  set(section: string, key: string, value: string, near: string[] = []): void {
    key = key.toLowerCase();
    const existing = this.keyLines(section).filter((i) => this.keyAt(i) === key);
    if (existing.length) {
      const last = existing[existing.length - 1];
      const line = this.lines[last];
      const prefix = /^(\s*[^=:]+?\s*[=:]\s*)/.exec(line.body)![1];
      line.body = `${prefix}${value}`;
      this.removeSpans([...existing.slice(0, -1).map((i) => ({ from: i, to: this.spanEnd(i) })), { from: last + 1, to: this.spanEnd(last) }]);
      return;
    }
    if (!this.has(section)) this.appendSection(section);
    const lines = this.keyLines(section);
    const anchors = lines.filter((i) => near.includes(this.keyAt(i)));
    const after = anchors.length ? anchors[anchors.length - 1] : lines.length ? lines[lines.length - 1] : null;
    const at = after === null ? this.headers(section).at(-1)! + 1 : this.spanEnd(after);
    this.insert(at, [`${key}${this.separator(section)}${value}`]);
  }

  /** Removes every line of `key` in the section (with its continuation lines); false when absent. */
  delete(section: string, key: string): boolean {
    key = key.toLowerCase();
    const found = this.keyLines(section).filter((i) => this.keyAt(i) === key);
    this.removeSpans(found.map((i) => ({ from: i, to: this.spanEnd(i) })));
    return found.length > 0;
  }

  /**
   * The first comment block of `[section]` (the comment lines right after its header) replaced
   * by one comment line, as OMERO.biomero stamps `[changelog]`; the section is appended when missing.
   */
  stamp(section: string, comment: string): void {
    if (!this.has(section)) this.appendSection(section);
    const header = this.headers(section)[0];
    let end = header + 1;
    while (end < this.lines.length && this.kinds()[end].type === 'comment') end++;
    this.removeSpans([{ from: header + 1, to: end }]);
    this.insert(header + 1, [`# ${comment}`]);
  }

  private kinds(): Kind[] {
    const kinds: Kind[] = [];
    let section: string | null = null;
    let inKey = false;
    this.lines.forEach(({ body }, index) => {
      const text = index === 0 ? body.replace(/^\uFEFF/, '') : body;
      if (/^\s*([#;].*)?$/.test(text)) {
        kinds.push({ type: text.trim() === '' ? 'blank' : 'comment' });
        inKey = false;
      } else if (/^\s/.test(text) && inKey) {
        kinds.push({ type: 'continuation' });
      } else if (/^\[([^\]]+)\]\s*$/.test(text)) {
        section = /^\[([^\]]+)\]/.exec(text)![1].trim();
        kinds.push({ type: 'header', section });
        inKey = false;
      } else {
        kinds.push({ type: 'key', section: section!, key: /^([^=:]+?)\s*[=:]/.exec(text.trim())![1].toLowerCase() });
        inKey = true;
      }
    });
    return kinds;
  }

  private headers(section: string): number[] {
    return this.kinds().flatMap((k, i) => (k.type === 'header' && k.section === section ? [i] : []));
  }

  private keyLines(section: string): number[] {
    return this.kinds().flatMap((k, i) => (k.type === 'key' && k.section === section ? [i] : []));
  }

  private keyAt(index: number): string {
    return (this.kinds()[index] as { key: string }).key;
  }

  /** One past the last line of the key at `index` (its continuation lines included). */
  private spanEnd(index: number): number {
    const kinds = this.kinds();
    let end = index + 1;
    while (end < kinds.length && kinds[end].type === 'continuation') end++;
    return end;
  }

  /** The separator the section's first key uses (`=`, ` = `, `: ` …), else ` = ` as configupdater writes. */
  private separator(section: string): string {
    const first = this.keyLines(section)[0];
    return first === undefined ? ' = ' : /^\s*[^=:]+?(\s*[=:]\s*)/.exec(this.lines[first].body)![1];
  }

  private removeSpans(spans: { from: number; to: number }[]): void {
    for (const { from, to } of [...spans].sort((a, b) => b.from - a.from)) this.lines.splice(from, to - from);
  }

  private insert(at: number, bodies: string[]): void {
    // the line before may be the file's last, without a line ending
    if (at > 0 && this.lines[at - 1].eol === '') this.lines[at - 1].eol = this.eol;
    this.lines.splice(at, 0, ...bodies.map((body) => ({ body, eol: this.eol })));
  }

  private appendSection(section: string): void {
    const last = this.lines.at(-1);
    const blank = last && last.body.trim() !== '' ? [''] : [];
    this.insert(this.lines.length, [...blank, `[${section}]`]);
  }
}
