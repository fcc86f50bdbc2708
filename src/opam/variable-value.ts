/** What a variable holds, and how filters and interpolation look one up. */
/** opam's variable contents: bool (B), string (S), string list (L); `undefined` = undefined variable. */
export type VariableValue = boolean | string | string[] | undefined;

/** Looks a variable up: `packages` null for a global variable, `[name]` for `name:var`, `['_']` for `_:var`. */
export type VariableLookup = (packages: string[] | null, variable: string) => VariableValue;
