/**
 * Reads a rules file's YAML text into plain data while keeping every node's source position,
 * so later checks (schema and semantic) can point at the exact line and column of what they
 * complain about. Everything unsafe or ambiguous in YAML is refused here, before any check runs.
 */
import { Document, isAlias, isCollection, isMap, isNode, isPair, isScalar, isSeq, parseDocument, visit } from 'yaml';
import type { Node } from 'yaml';
import type { Diagnostic, DiagnosticCode } from './diagnostics';
import { MAX_SHOWN_MESSAGE_LENGTH, quoteText, showText } from './wording';

/** Largest rules file accepted: real files are a few KiB; anything bigger is a mistake or an attack. */
export const MAX_RULES_FILE_BYTES = 1024 * 1024;

/**
 * How far anchors and aliases may expand. The shipped file uses none; a handful lets analysts
 * reuse a block, while a "billion laughs" document is refused before it is built.
 */
export const MAX_ALIAS_COUNT = 50;

/** A path into the parsed data, as JSON pointers name it: keys of mappings, indexes of lists. */
export type DataPath = readonly (string | number)[];

/** A 1-based position in the file. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** The parsed file: plain data plus a way back from any path to where it was written. */
export interface RulesSource {
  readonly file: string;
  readonly data: unknown;
  /**
   * Where the value at `path` was written; with `'key'`, where its key was (for fields that
   * should not be there). Missing parts of the path fall back to the nearest enclosing node.
   */
  locate(path: DataPath, target?: 'key' | 'value'): SourcePosition;
}

/** How the parser names the YAML core tags that a file writes `!!name`. */
const YAML_TAG_PREFIX = 'tag:yaml.org,2002:';

/** Either the parsed source or every reason it could not be read. */
export type ReadOutcome =
  | { readonly ok: true; readonly source: RulesSource }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/**
 * Parses rules YAML (YAML 1.2 core schema, so dates stay text and `yes` stays a string).
 * Refuses oversized text, a carriage return alone as a line ending, an indentation holding
 * white space other than ASCII spaces and tabs (each reported where it stands, not where the
 * parser would stumble over it), syntax errors, duplicate keys, several documents, tags (`!!str`,
 * `!money`: known or not), a `%YAML` directive asking for another version, numbers written in hex or octal, and alias
 * expansion beyond {@link MAX_ALIAS_COUNT}; all such problems are reported together. A byte
 * order mark is skipped, so it does not shift the first line's columns.
 */
export function readRulesYaml(fileText: string, file: string): ReadOutcome {
  const at = (code: DiagnosticCode, message: string, line = 1, column = 1): Diagnostic => ({
    file,
    line,
    column,
    code,
    message,
  });

  const bytes = Buffer.byteLength(fileText, 'utf8');
  if (bytes > MAX_RULES_FILE_BYTES) {
    return { ok: false, diagnostics: [at('file-too-large', tooLargeMessage(bytes))] };
  }
  const text = fileText.startsWith('\uFEFF') ? fileText.slice(1) : fileText;
  const position = positionsIn(text);

  // The YAML reader takes only LF and CRLF as line breaks: a file saved with CR alone (classic
  // Mac OS) reads as one long line, a comment if it starts with one: "empty", or nonsense.
  const loneCr = /\r(?!\n)/.exec(text);
  if (loneCr !== null) {
    const { line, column } = position(loneCr.index);
    return { ok: false, diagnostics: [at('cr-line-endings', LONE_CR_MESSAGE, line, column)] };
  }

  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, version: '1.2' });

  // A `%YAML 1.1` line would switch the parser to YAML 1.1, where `yes` is true, `010` is 8
  // and `<<` merges blocks: the same file would mean other prices, with nothing said.
  const version = doc.directives?.yaml;
  if (version?.explicit && version.version !== '1.2') {
    const directive = /^%YAML\b/m.exec(text);
    const { line, column } = position(directive?.index ?? 0);
    return {
      ok: false,
      diagnostics: [
        at(
          'yaml-version',
          `this file asks to be read as YAML ${version.version}; rules files are YAML 1.2 only (in 1.1, yes is true, 010 is 8 and << merges blocks): remove this line`,
          line,
          column,
        ),
      ],
    };
  }

  // A no-break space looks like a space but is text to YAML: the line it starts is not indented,
  // and the parser's complaint comes lines later, about "compact mappings". The cause is the
  // useful message, and the parser's complaints are its consequences.
  const oddIndents = oddIndentation(doc, text).map((offset) => {
    const { line, column } = position(offset);
    return at('non-ascii-indent', oddIndentMessage(text.codePointAt(offset) ?? 0), line, column);
  });
  if (oddIndents.length > 0) return { ok: false, diagnostics: oddIndents };

  // One broken bracket makes the parser complain about every line after it in several
  // ways; the first complaint on a line is the useful one.
  const problems: Diagnostic[] = [];
  const linesWithProblems = new Set<number>();
  for (const e of [...doc.errors, ...doc.warnings]) {
    // Tags, known or not, are reported below with the rest, one message for all.
    if (e.code === 'TAG_RESOLVE_FAILED') continue;
    const { line, column } = position(e.pos[0]);
    if (linesWithProblems.has(line)) continue;
    linesWithProblems.add(line);
    const [code, message] = describeYamlProblem(e.code, e.message, text, e.pos[0]);
    problems.push(at(code, message, line, column));
  }
  if (problems.length > 0) return { ok: false, diagnostics: problems };

  if (doc.contents === null) {
    return { ok: false, diagnostics: [at('empty-file', 'the file holds no rules (it is empty or only comments)')] };
  }

  visit(doc, (_key, node) => {
    // An alias must name an anchor written before it; the reader would otherwise stop at it
    // with a message about alias counts.
    if (isAlias(node) && node.resolve(doc) === undefined) {
      const { line, column } = position(node.range?.[0] ?? 0);
      problems.push(at('yaml-syntax', `${quoteText(`*${node.source}`)} names no anchor written before it (${quoteText(`&${node.source}`)}); write the value out, or anchor it above`, line, column));
    }
    // A key that is a list, a mapping or null cannot name a field (and the reader would turn
    // it into text with a warning on stderr, and no place to report it at).
    if (isPair(node) && (isCollection(node.key) || (isScalar(node.key) && node.key.value === null))) {
      const { line, column } = position(isNode(node.key) ? (node.key.range?.[0] ?? 0) : 0);
      const what = isCollection(node.key) ? (isSeq(node.key) ? 'a list' : 'a mapping') : 'empty (null)';
      problems.push(at('yaml-syntax', `this key is ${what}; keys in a rules file are field names and ids`, line, column));
    }
    // A tag makes a value something else than it reads as (`!!str 5` text, `!!binary` bytes,
    // `!!set` a set) or names a type the rules do not have: no rules value is written so.
    if ((isScalar(node) || isCollection(node)) && node.tag) {
      const tag = node.tag.startsWith(YAML_TAG_PREFIX) ? `!!${node.tag.slice(YAML_TAG_PREFIX.length)}` : node.tag;
      const start = node.range?.[0] ?? 0;
      const written = text.lastIndexOf(tag, start);
      const { line, column } = position(written === -1 ? start : written);
      problems.push(at('yaml-syntax', `${quoteText(tag)} is a YAML tag; rules files use plain values only: remove the tag`, line, column));
    }
    // YAML 1.2 reads 0x7D0 and 0o3720 as 2000: a price written so is a slip, not a choice.
    if (isScalar(node) && (node.format === 'HEX' || node.format === 'OCT')) {
      const { line, column } = position(node.range?.[0] ?? 0);
      const written = text.slice(node.range?.[0] ?? 0, node.range?.[1] ?? 0);
      problems.push(at('bad-format', `${quoteText(written)} is a ${node.format === 'HEX' ? 'hexadecimal' : 'octal'} number; write numbers in decimal (${String(node.value)})`, line, column));
    }
  });
  if (problems.length > 0) return { ok: false, diagnostics: problems };

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    const { line, column } = position(firstAliasOffset(doc));
    return {
      ok: false,
      diagnostics: [
        at(
          'too-many-aliases',
          `anchors and aliases expand to too much repeated content (at most ${MAX_ALIAS_COUNT} alias uses); write the values out instead`,
          line,
          column,
        ),
      ],
    };
  }

  return {
    ok: true,
    source: {
      file,
      data,
      locate: (path, target = 'value') => position(offsetOf(doc, path, target)),
    },
  };
}

const LONE_CR_MESSAGE =
  'this line ends with a carriage return alone (classic Mac OS line endings), which is not read as a line break: save the file with LF (or CRLF) line endings';

/** The leading blanks of a line: any Unicode white space but line breaks. */
const LEADING_BLANKS = /[^\S\r\n]*/uy;

/**
 * The offset of the first character in each line's indentation that is white space other than
 * an ASCII space or tab (a no-break space, an ideographic space, ...). Lines inside a scalar
 * (a note's block text, a quoted string running over lines) are text, not indentation.
 */
function oddIndentation(doc: Document, text: string): number[] {
  // Scalars never overlap, so sorted by start they are also sorted by end: one pass with the lines.
  const scalars: (readonly [number, number, number])[] = [];
  visit(doc, {
    Scalar(_key, node) {
      if (node.range) scalars.push(node.range);
    },
  });
  scalars.sort((a, b) => a[0] - b[0]);
  const offsets: number[] = [];
  let scalar = 0;
  for (let lineStart = 0; lineStart <= text.length; ) {
    LEADING_BLANKS.lastIndex = lineStart;
    const odd = (LEADING_BLANKS.exec(text)?.[0] ?? '').search(/[^ \t]/);
    while ((scalars[scalar]?.[1] ?? Infinity) <= lineStart) scalar += 1;
    const [start, end] = scalars[scalar] ?? [Infinity, Infinity];
    if (odd !== -1 && !(start < lineStart && lineStart < end)) offsets.push(lineStart + odd);
    const next = text.indexOf('\n', lineStart);
    if (next === -1) break;
    lineStart = next + 1;
  }
  return offsets;
}

/** What people call the white space characters an editor shows as a plain space. */
const SPACE_NAMES: Readonly<Record<number, string>> = {
  0x0b: 'a vertical tab',
  0x0c: 'a form feed',
  0xa0: 'a no-break space',
  0x2007: 'a figure space',
  0x2028: 'a line separator',
  0x2029: 'a paragraph separator',
  0x202f: 'a narrow no-break space',
  0x3000: 'an ideographic space',
  0xfeff: 'a zero-width no-break space',
};

function oddIndentMessage(code: number): string {
  const name = SPACE_NAMES[code] ?? 'a Unicode space';
  const hex = code.toString(16).toUpperCase().padStart(4, '0');
  return `this line is indented with ${name} (U+${hex}), which YAML does not read as indentation though it looks like a space: indent with ordinary spaces`;
}

/**
 * Offset to line and column, counted from the text itself. The parser's own line counter
 * loses lines inside a multi-line scalar it stops reading after an error, which put every
 * later problem a few lines too high.
 */
function positionsIn(text: string): (offset: number) => SourcePosition {
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  return (offset) => {
    // The last line starting at or before the offset, by binary search.
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      if ((lineStarts[mid] ?? 0) <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: offset - (lineStarts[low] ?? 0) + 1 };
  };
}

/** Message for a file over {@link MAX_RULES_FILE_BYTES}; shared by the loader, which checks before reading. */
export function tooLargeMessage(bytes: number): string {
  return `the file is ${bytes} bytes; a rules file may be at most ${MAX_RULES_FILE_BYTES} bytes (1 MiB)`;
}

function describeYamlProblem(
  yamlCode: string,
  yamlMessage: string,
  text: string,
  offset: number,
): [DiagnosticCode, string] {
  switch (yamlCode) {
    case 'DUPLICATE_KEY':
      return ['duplicate-key', `${quoteText(keyAt(text, offset))} is written twice in the same block; keep one`];
    case 'MULTIPLE_DOCS':
      return [
        'multiple-documents',
        'a rules file holds exactly one YAML document; remove this "---" separator and what follows, or move it to its own file',
      ];
    case 'RESOURCE_EXHAUSTION':
      return ['yaml-syntax', 'the file is nested too deeply to read'];
    case 'BAD_INDENT':
    case 'TAB_AS_INDENT':
    case 'MISSING_CHAR':
      return ['yaml-syntax', `not valid YAML: ${firstLine(yamlMessage)} (check this line's indentation and brackets)`];
    default:
      return ['yaml-syntax', `not valid YAML: ${firstLine(yamlMessage)}`];
  }
}

function firstLine(message: string): string {
  const line = message.split('\n', 1)[0] ?? message;
  return showText(line.replace(/[.:]\s*$/, ''), MAX_SHOWN_MESSAGE_LENGTH);
}

/** The key text at a duplicate-key offset, for a message that names it. */
function keyAt(text: string, offset: number): string {
  const rest = text.slice(offset, offset + 200).split(/\r?\n/, 1)[0] ?? '';
  const key = rest.split(/:(\s|$)/, 1)[0] ?? rest;
  return key.trim().replace(/^["']|["']$/g, '');
}

function firstAliasOffset(doc: Document): number {
  let offset = 0;
  visit(doc, {
    Alias(_key, node) {
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
}

/** A node written in the file (an empty `key:` value has no text of its own to point at). */
function writtenStart(node: unknown): number | undefined {
  if (!isNode(node) || !node.range) return undefined;
  const [start, end] = node.range;
  return end > start ? start : undefined;
}

function offsetOf(doc: Document, path: DataPath, target: 'key' | 'value'): number {
  let node: unknown = doc.contents;
  let offset = writtenStart(node) ?? 0;
  for (const [index, segment] of path.entries()) {
    if (isAlias(node)) node = node.resolve(doc);
    const isLast = index === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (pair === undefined) break;
      const keyStart = (pair.key as Node).range?.[0] ?? offset;
      if (isLast && target === 'key') return keyStart;
      node = pair.value;
      offset = writtenStart(node) ?? keyStart;
    } else if (isSeq(node)) {
      const item: unknown = node.items[Number(segment)];
      const start = writtenStart(item);
      if (start === undefined) break;
      node = item;
      offset = start;
    } else {
      break;
    }
  }
  return offset;
}
