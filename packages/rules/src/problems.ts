/**
 * Why a rule document, a JsonLogic expression or an evaluation context was refused.
 *
 * - `syntax`: the text is not JSON (parseRuleJson only).
 * - `duplicate_key`: an object names a key twice (parseRuleJson only).
 * - `not_json`: a value JSON cannot hold (undefined, a function, a class instance, a cycle, a
 *   hole, a lone surrogate).
 * - `not_an_integer`: a number that is not a safe integer: a fraction, an exponent form that is
 *   one, NaN, an infinity, beyond ±(2^53 − 1).
 * - `too_deep`: nested deeper than the depth limit.
 * - `unsupported_operator`: an operator outside the supported set (including `/`).
 * - `arguments`: the wrong number or form of arguments for an operator.
 * - `ambiguous`: a form on which JsonLogic implementations disagree (see docs/rules.md).
 * - `not_a_number`: a literal that arithmetic cannot read as an integer.
 * - `forbidden_path`: a `var` path through `__proto__`, `prototype` or `constructor`.
 * - `unknown_root`: a `var` path that does not start with one of the context's parts.
 * - `computed_path`: a `var` path computed by an operation instead of written out.
 * - `missing_field`, `unknown_field`, `invalid`: the rule document's own fields.
 */
export type ProblemCode =
  | "syntax"
  | "duplicate_key"
  | "not_json"
  | "not_an_integer"
  | "too_deep"
  | "unsupported_operator"
  | "arguments"
  | "ambiguous"
  | "not_a_number"
  | "forbidden_path"
  | "unknown_root"
  | "computed_path"
  | "missing_field"
  | "unknown_field"
  | "invalid";

/** One fault, at a dotted path into the document (`condition.and.1.>.0`, `action.per`). */
export interface Problem {
  path: string;
  code: ProblemCode;
  message: string;
}

export type Validation<T> = { ok: true; value: T } | { ok: false; errors: Problem[] };

export function problem(path: string, code: ProblemCode, message: string): Problem {
  return { path, code, message };
}

/** Thrown by the functions that take a document and cannot return its problems. */
export class RuleValidationError extends Error {
  override readonly name = "RuleValidationError";
  constructor(readonly errors: Problem[]) {
    super(
      errors
        .slice(0, 5)
        .map((e) => `${e.path || "(root)"}: ${e.message}`)
        .join("; ") + (errors.length > 5 ? `; and ${errors.length - 5} more` : ""),
    );
  }
}

/**
 * Why an evaluation stopped. It is as deterministic as a result: the same rule over the same
 * inputs fails the same way everywhere.
 *
 * - `steps`: the step budget ran out (StepBudgetError).
 * - `depth`: evaluation nested deeper than the depth limit (DepthLimitError).
 * - `not_a_number`: arithmetic or a comparison met a value it cannot read as a number (JsonLogic's NaN).
 * - `not_an_integer`: a value read as a number is a fraction.
 * - `overflow`: a result beyond ±(2^53 − 1).
 * - `invalid_arguments`: an operator got a value of a kind it does not take.
 * - `too_large`: a string or list grew past its size limit.
 * - `forbidden_path`: a computed `missing` key through a prototype or outside the context.
 * - `invalid_context`: the data or context is not integer-only JSON of the expected shape.
 */
export type EvaluationErrorCode =
  | "steps"
  | "depth"
  | "not_a_number"
  | "not_an_integer"
  | "overflow"
  | "invalid_arguments"
  | "too_large"
  | "forbidden_path"
  | "invalid_context";

export class EvaluationError extends Error {
  override readonly name: string = "EvaluationError";
  constructor(
    readonly code: EvaluationErrorCode,
    /** Where in the expression or rule (`condition.and.0.+`), "" for its root. */
    readonly path: string,
    message: string,
  ) {
    super(path === "" ? message : `${path}: ${message}`);
  }
}

/** The step budget ran out. */
export class StepBudgetError extends EvaluationError {
  override readonly name = "StepBudgetError";
  constructor(
    path: string,
    readonly budget: number,
  ) {
    super("steps", path, `step budget of ${budget} exceeded`);
  }
}

/** Evaluation nested deeper than the depth limit. */
export class DepthLimitError extends EvaluationError {
  override readonly name = "DepthLimitError";
  constructor(
    path: string,
    readonly limit: number,
  ) {
    super("depth", path, `nested deeper than ${limit}`);
  }
}
