export * from "./json.js";
export * from "./logic/compile.js";
export {
  checkData,
  type EvaluateOptions,
  evaluateLogic,
  type Inputs,
  type LogicResult,
  type Lookup,
  lookup,
  runLogic,
} from "./logic/evaluate.js";
export * from "./logic/operators.js";
export { looseEqual, strictEqual, stringToNumber, toInteger, truthy } from "./logic/values.js";
export * from "./problems.js";
export {
  type Action,
  type ActionType,
  type CapName,
  type Caps,
  CONTEXT_ROOTS,
  type ExpireAction,
  type FixedAction,
  type ItemFilter,
  type MultiplierAction,
  PERIOD_UNITS,
  type PerAmountAction,
  type PeriodUnit,
  ROUNDING,
  type Rounding,
  RULE_ID,
  RULE_KINDS,
  RULE_LIMITS,
  type Rule,
  type RuleKind,
  type RuleValidation,
  type Scope,
  STACKING,
  type Stacking,
  type TierAction,
  validateRule,
} from "./rule/document.js";
export * from "./rule/engine.js";
export * from "./rule/hash.js";
export * from "./rule/narrow.js";
export * from "./text.js";
export * from "./time.js";
