/**
 * The JSON Schema subset the report schemas are written in: type (incl. "integer", "null", arrays of
 * types), const, enum, properties, required, additionalProperties (false or a schema), items, minimum.
 */
export type JsonSchema = {
  $schema?: string;
  $id?: string;
  title?: string;
  description?: string;
  type?: string | string[];
  const?: unknown;
  enum?: readonly unknown[];
  properties?: Record<string, JsonSchema>;
  required?: readonly string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minimum?: number;
};
