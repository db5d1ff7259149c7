/** An error meant for the API client: an HTTP status, a stable machine-readable code, a message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** Response headers the answer needs (`Allow` on a 405). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export const notFound = (what: string) => new ApiError(404, "not_found", `${what} not found`);
export const badRequest = (code: string, message: string, details?: unknown) =>
  new ApiError(400, code, message, details);
