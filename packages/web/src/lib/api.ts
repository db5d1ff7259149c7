// The node's public ledger API (docs/api.md). Everything here is untrusted input: the pages
// verify it with @patron/ledger before calling anything verified.

export interface EntryView {
  index: number;
  type: string;
  actor: string;
  time: string;
  leafHash: string;
  /** base64 of the exact leaf bytes */
  canonical: string;
  entry: unknown;
}

export interface EntriesPage {
  size: number;
  entries: EntryView[];
  next: number | null;
}

export interface InclusionProof {
  index: number;
  size: number;
  leafHash: string;
  proof: string[];
}

export interface ConsistencyProof {
  from: number;
  to: number;
  proof: string[];
}

export type AnchorStatus = "pending" | "sent" | "confirmed" | "failed";

export interface Anchor {
  size: number;
  root: string;
  txHash: string | null;
  blockNumber: number | null;
  status: AnchorStatus;
  confirmations: number;
  createdAt: string;
  confirmedAt: string | null;
}

export interface Anchors {
  enabled: boolean;
  chainId: number | null;
  contract: string | null;
  anchors: Anchor[];
}

export interface Health {
  status: string;
  version: string;
  origin: string;
  size: number;
}

export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function request(path: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { accept: "application/json, text/plain" } });
  } catch {
    throw new ApiError(0, "unreachable", "The node cannot be reached. Check your connection.");
  }
  if (res.ok) return res;
  let code = "http_error";
  let message = `The node answered ${res.status} ${res.statusText}`.trim();
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.code) code = body.error.code;
    if (body.error?.message) message = body.error.message;
  } catch {
    // not the API's JSON error shape: keep the status line
  }
  throw new ApiError(res.status, code, message);
}

const json = async <T>(path: string): Promise<T> => (await (await request(path)).json()) as T;
const text = async (path: string): Promise<string> => (await request(path)).text();

export const api = {
  key: async () => (await text("/v1/ledger/key")).trim(),
  checkpoint: () => text("/v1/ledger/checkpoint"),
  health: () => json<Health>("/health"),
  entries: (from: number, limit: number) =>
    json<EntriesPage>(`/v1/ledger/entries?from=${from}&limit=${limit}`),
  entry: (index: number) => json<EntryView>(`/v1/ledger/entries/${index}`),
  inclusion: (index: number, size: number) =>
    json<InclusionProof>(`/v1/ledger/proofs/inclusion?index=${index}&size=${size}`),
  consistency: (from: number, to: number) =>
    json<ConsistencyProof>(`/v1/ledger/proofs/consistency?from=${from}&to=${to}`),
  /** undefined when the node has no anchoring API (older nodes answer 404). */
  anchors: async (): Promise<Anchors | undefined> => {
    try {
      return await json<Anchors>("/v1/ledger/anchors");
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  },
  receiptUrl: (index: number, size?: number) =>
    `/v1/ledger/receipts/${index}${size === undefined ? "" : `?size=${size}`}`,
};
