import { z } from "zod";
import { MirrorError } from "./errors.js";

const REQUEST_TIMEOUT_MS = 60_000;

/**
 * A page of entries. Each is either whole (`canonical` holds its bytes; `sealed` says whether
 * it carries a salt) or, for a sealed entry the caller may not read, only its index and leaf
 * hash with `sealed: true`. The other fields the node serves (type, actor, time, the parsed
 * entry) are derived from the bytes and not read.
 */
export const EntriesPage = z.object({
  entries: z.array(
    z.object({
      index: z.number().int().nonnegative(),
      leafHash: z.string(),
      canonical: z.string().optional(),
      sealed: z.boolean().optional(),
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

export interface SourceOptions {
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /**
   * An API key, sent as a Bearer token with the requests that ask for `authorized`: the entries
   * pages, where it lets a merchant's key read that merchant's sealed entries whole. Never
   * logged, never stored, and not sent with the other (public) requests.
   */
  apiKey?: string;
}

/** The public ledger API of a node, read over HTTP. Nothing it returns is trusted. */
export class Source {
  readonly base: string;
  readonly #fetch: typeof fetch;
  readonly #signal?: AbortSignal;
  readonly #apiKey?: string;

  constructor(url: string, opts: SourceOptions = {}) {
    this.base = url.replace(/\/+$/, "");
    this.#fetch = opts.fetch ?? fetch;
    this.#signal = opts.signal;
    this.#apiKey = opts.apiKey;
  }

  /** Whether requests made with `authorized` carry an API key. */
  get hasApiKey(): boolean {
    return this.#apiKey !== undefined;
  }

  async text(path: string): Promise<string> {
    const res = await this.#get(path, false);
    return res.text();
  }

  async json<T>(path: string, schema: z.ZodType<T>, authorized = false): Promise<T> {
    const res = await this.#get(path, authorized);
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

  async #get(path: string, authorized: boolean): Promise<Response> {
    const url = `${this.base}${path}`;
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    const signal = this.#signal ? AbortSignal.any([this.#signal, timeout]) : timeout;
    const withKey = authorized && this.#apiKey !== undefined;
    // fetch drops the Authorization header when a redirect leads to another origin.
    const headers: Record<string, string> = withKey
      ? { authorization: `Bearer ${this.#apiKey}` }
      : {};
    let res: Response;
    try {
      res = await this.#fetch(url, { signal, redirect: "follow", headers });
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
      if (withKey && (res.status === 401 || res.status === 403)) {
        throw new MirrorError(
          "auth",
          `GET ${url} answered ${res.status}${detail}: the node refused the mirror's API key (--api-key or PATRON_MIRROR_KEY)`,
        );
      }
      throw new MirrorError("source", `GET ${url} answered ${res.status}${detail}`);
    }
    return res;
  }
}
