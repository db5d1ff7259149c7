import { z } from "zod";
import { MirrorError } from "./errors.js";

const REQUEST_TIMEOUT_MS = 60_000;

export const EntriesPage = z.object({
  entries: z.array(
    z.object({
      index: z.number().int().nonnegative(),
      leafHash: z.string(),
      canonical: z.string(),
    }),
  ),
});

export const CheckpointsPage = z.object({
  checkpoints: z.array(z.object({ size: z.number().int().nonnegative(), note: z.string() })),
});

export const ConsistencyProof = z.object({
  from: z.number(),
  to: z.number(),
  proof: z.array(z.string()),
});

/** The public ledger API of a node, read over HTTP. Nothing it returns is trusted. */
export class Source {
  readonly base: string;
  readonly #fetch: typeof fetch;
  readonly #signal?: AbortSignal;

  constructor(url: string, fetchFn: typeof fetch = fetch, signal?: AbortSignal) {
    this.base = url.replace(/\/+$/, "");
    this.#fetch = fetchFn;
    this.#signal = signal;
  }

  async text(path: string): Promise<string> {
    const res = await this.#get(path);
    return res.text();
  }

  async json<T>(path: string, schema: z.ZodType<T>): Promise<T> {
    const res = await this.#get(path);
    let body: unknown;
    try {
      body = await res.json();
    } catch (err) {
      if (this.#signal?.aborted) throw err;
      throw new MirrorError("source", `GET ${this.base}${path}: the answer is not JSON`);
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new MirrorError(
        "invalid",
        `GET ${this.base}${path}: unexpected answer (${issue?.path.join(".") || "body"}: ${issue?.message})`,
      );
    }
    return parsed.data;
  }

  async #get(path: string): Promise<Response> {
    const url = `${this.base}${path}`;
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    const signal = this.#signal ? AbortSignal.any([this.#signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await this.#fetch(url, { signal, redirect: "follow" });
    } catch (err) {
      if (this.#signal?.aborted) throw err;
      const cause = (err as { cause?: { message?: string } }).cause?.message;
      const why = timeout.aborted
        ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`
        : (cause ?? (err as Error).message);
      throw new MirrorError("source", `cannot reach ${url}: ${why}`, { cause: err });
    }
    if (!res.ok) {
      let detail = "";
      try {
        const body = (await res.json()) as { error?: { message?: unknown } };
        if (typeof body.error?.message === "string") detail = `: ${body.error.message}`;
      } catch {
        // not a Patron error body
      }
      throw new MirrorError("source", `GET ${url} answered ${res.status}${detail}`);
    }
    return res;
  }
}
