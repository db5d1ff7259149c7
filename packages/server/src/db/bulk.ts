import type { Statement } from "./database.js";

/** PostgreSQL's limit on one statement's parameters. */
const MAX_PARAMS = 65_535;
/** Rows per joined INSERT: larger statements gain little and cost the server more to parse. */
const MAX_ROWS = 1_000;

/**
 * Joins the `bulk` INSERTs of a transaction into multi-row INSERTs: all the statements of one
 * text become one (or a few, under the parameter limit), placed where the first of them stood.
 * A write of a thousand new customers is then a handful of statements instead of ten thousand.
 *
 * Only `bulk` statements move, and only earlier: their writer promises that no statement before
 * them in the transaction touches their rows (rows of a record made in this transaction, rows
 * with a fresh key). The others keep their order.
 */
export function coalesce(statements: readonly Statement[]): Statement[] {
  if (!statements.some((s) => s.bulk)) return statements as Statement[];
  const groups = new Map<string, Statement[]>();
  const order: (Statement | Statement[])[] = [];
  for (const s of statements) {
    if (!s.bulk) {
      order.push(s);
      continue;
    }
    let group = groups.get(s.sql);
    if (!group) {
      group = [];
      groups.set(s.sql, group);
      order.push(group);
    }
    group.push(s);
  }
  return order.flatMap((x) => (Array.isArray(x) ? joinInserts(x) : [x]));
}

/** `INSERT … VALUES (…) [ON CONFLICT …]` statements of one text as multi-row statements. */
export function joinInserts(group: Statement[]): Statement[] {
  const first = group[0];
  if (!first) return [];
  if (group.length === 1) return [{ sql: first.sql, params: first.params }];
  const shape = valuesTuple(first.sql);
  const width = first.params?.length ?? 0;
  const perStatement = Math.max(1, Math.min(MAX_ROWS, Math.floor(MAX_PARAMS / Math.max(1, width))));
  const out: Statement[] = [];
  for (let at = 0; at < group.length; at += perStatement) {
    const rows = group.slice(at, at + perStatement);
    const tuples: string[] = [];
    const params: unknown[] = [];
    for (const s of rows) {
      const offset = params.length;
      let t = shape.pieces[0] as string;
      for (let k = 0; k < shape.numbers.length; k++) {
        t += `$${(shape.numbers[k] as number) + offset}${shape.pieces[k + 1]}`;
      }
      tuples.push(t);
      for (const v of s.params ?? []) params.push(v);
    }
    // Its text changes with its row count: left unnamed, so the server keeps no plan of it.
    out.push({ sql: `${shape.head}${tuples.join(", ")}${shape.tail}`, params, unnamed: true });
  }
  return out;
}

// INSERT INTO t (…) VALUES ( items ) [ON CONFLICT …], where an item is anything but a
// parenthesis or a quote, a quoted literal, or one level of parentheses (`decode($3, 'hex')`).
const QUOTED = "'(?:[^']|'')*'";
const INNER = `\\((?:[^()']|${QUOTED})*\\)`;
const TUPLE = new RegExp(
  `^(INSERT\\s+INTO\\s+[^;]*?\\bVALUES\\s*)(\\((?:[^()']|${QUOTED}|${INNER})*\\))(\\s*(?:ON\\s+CONFLICT[^;]*)?)$`,
  "is",
);

interface Shape {
  head: string;
  /** The tuple's text around its parameters: pieces[0] $numbers[0] pieces[1] … */
  pieces: string[];
  numbers: number[];
  tail: string;
}

const shapes = new Map<string, Shape>();

/** The statement cut around its one VALUES tuple (each text is read once). */
function valuesTuple(sql: string): Shape {
  const known = shapes.get(sql);
  if (known) return known;
  const m = TUPLE.exec(sql.trim());
  if (!m) throw new Error(`a bulk statement must be one INSERT … VALUES (…): ${sql}`);
  const parts = (m[2] as string).split(/\$(\d+)/);
  const shape: Shape = {
    head: m[1] as string,
    pieces: parts.filter((_, k) => k % 2 === 0),
    numbers: parts.filter((_, k) => k % 2 === 1).map(Number),
    tail: m[3] as string,
  };
  if (shapes.size > 1000) shapes.clear();
  shapes.set(sql, shape);
  return shape;
}
