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
export { looseEqual, stringToNumber, strictEqual, toInteger, truthy } from "./logic/values.js";
export * from "./problems.js";
