import type { FieldValues, Path, UseFormSetError } from "react-hook-form";
import { ConsoleApiError, issuesByField } from "../../api/client.js";

/** The node's field names, and the form field that shows their errors. */
const FIELD_OF: Record<string, string> = {
  name: "name",
  email: "email",
  emails: "email",
  phone: "phone",
  phones: "phone",
  stage: "stage",
  tags: "tags",
  language: "language",
  birthday: "birthday",
};

/**
 * Puts a refused write's reason beside the field it is about, when the node says which
 * (a validation issue's path, invalid_email, invalid_phone, an identity another customer
 * holds); otherwise it is the form's own message. Returns whether a field took it.
 */
export function showServerError<T extends FieldValues>(
  err: unknown,
  fields: readonly string[],
  setError: UseFormSetError<T>,
): boolean {
  if (!(err instanceof ConsoleApiError)) return false;
  const put = (node: string, message: string) => {
    const field = FIELD_OF[node] ?? node;
    if (!fields.includes(field)) return false;
    setError(field as Path<T>, { type: "server", message });
    return true;
  };
  if (err.code === "invalid_email") return put("email", err.message);
  if (err.code === "invalid_phone") return put("phone", err.message);
  if (err.code === "identity_in_use") {
    const type = (err.details as { type?: unknown } | undefined)?.type;
    return typeof type === "string" ? put(type, err.message) : false;
  }
  let any = false;
  for (const [node, message] of issuesByField(err)) any = put(node, message) || any;
  return any;
}
