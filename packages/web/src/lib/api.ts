import { apiKey, dropApiKey } from "./credentials.js";

// The node's public ledger API (docs/api.md). Everything here is untrusted input: answers are
// checked for shape before a page sees them, and the pages verify their content with
// @patron/ledger before calling anything verified.

/** An entry the caller may read: a public one, or a sealed one of the signed-in merchant. */
export interface FullEntryView {
  index: number;
  type: string;
  actor: string;
  time: string;
  leafHash: string;
  /** base64 of the exact leaf bytes */
  canonical: string;
  entry: unknown;
  /** The node's word that the entry is sealed; the entry page decides from the bytes. */
  sealed: boolean;
}

/**
 * A sealed entry the caller is not a party to: the node sends only its index and leaf hash,
 * which is enough to prove it is in the tree and nothing about its content.
 */
export interface SealedEntryView {
  index: number;
  leafHash: string;
  sealed: true;
}

export type EntryView = FullEntryView | SealedEntryView;

/** Whether the node withheld the entry's content (a sealed entry of someone else's). */
export const isWithheld = (v: EntryView): v is SealedEntryView => !("canonical" in v);

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

/** Who an API key belongs to (`GET /v1/me`). */
export interface Me {
  merchant: { id: string; name: string };
  key: { id: string; role: string };
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

/**
 * How a request is authenticated: `none`; `session`: with this tab's API key if there is one
 * (a key the node refuses is dropped, and the request made again without it); or this `key`.
 */
type Auth = "none" | "session" | { key: string };

async function request(path: string, auth: Auth = "none"): Promise<Response> {
  const key = auth === "none" ? undefined : auth === "session" ? apiKey() : auth.key;
  const headers: Record<string, string> = { accept: "application/json, text/plain" };
  if (key !== undefined) headers.authorization = `Bearer ${key}`;
  let res: Response;
  try {
    res = await fetch(path, { headers });
  } catch {
    throw new ApiError(0, "unreachable", "The node cannot be reached. Check your connection.");
  }
  if (res.ok) return res;
  if (res.status === 401 && auth === "session" && key !== undefined) {
    // Revoked, or a key of another node: sign out and read as anyone would.
    if (apiKey() === key) dropApiKey("refused");
    return request(path, "none");
  }
  let code = "http_error";
  let message = `The node answered ${res.status} ${res.statusText}`.trim();
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    if (typeof body.error?.code === "string") code = body.error.code;
    if (typeof body.error?.message === "string") message = body.error.message;
  } catch {
    // not the API's JSON error shape: keep the status line
  }
  throw new ApiError(res.status, code, message);
}

const json = async (path: string, auth?: Auth): Promise<unknown> => {
  const res = await request(path, auth);
  try {
    return await res.json();
  } catch {
    throw badAnswer(`${path} is not JSON`);
  }
};
const text = async (path: string, auth?: Auth): Promise<string> =>
  (await request(path, auth)).text();

const badAnswer = (detail: string) =>
  new ApiError(200, "bad_answer", `The node sent an answer this explorer cannot read: ${detail}`);

// Shape checks: enough that a page never trips over a missing or mistyped field. What the
// fields claim is verified by the pages.
type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === "object" && x !== null && !Array.isArray(x);
const isIndex = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const isStr = (x: unknown): x is string => typeof x === "string";

/** An entry as the node sends it (full or sealed), or a bad_answer ApiError. */
export function readEntryView(x: unknown): EntryView {
  if (!isObj(x) || !isIndex(x.index) || !isStr(x.leafHash)) {
    throw badAnswer("an entry without an index and a leaf hash");
  }
  if (x.canonical === undefined) {
    if (x.sealed !== true) throw badAnswer(`entry ${x.index} has no content and is not sealed`);
    return { index: x.index, leafHash: x.leafHash, sealed: true };
  }
  if (!isStr(x.canonical) || !isStr(x.type) || !isStr(x.actor) || !isStr(x.time)) {
    throw badAnswer(`entry ${x.index} lacks its type, actor, time or bytes`);
  }
  if (x.sealed !== undefined && typeof x.sealed !== "boolean") {
    throw badAnswer(`entry ${x.index} has a "sealed" that is not true or false`);
  }
  return {
    index: x.index,
    type: x.type,
    actor: x.actor,
    time: x.time,
    leafHash: x.leafHash,
    canonical: x.canonical,
    entry: x.entry,
    // Nodes before sealed entries did not send the flag: everything was public.
    sealed: x.sealed === true,
  };
}

function readEntriesPage(x: unknown, from: number): EntriesPage {
  if (!isObj(x) || !isIndex(x.size) || !Array.isArray(x.entries)) {
    throw badAnswer("a page of entries without its size or its entries");
  }
  const entries = x.entries.map(readEntryView);
  entries.forEach((e, i) => {
    if (e.index !== from + i) throw badAnswer(`entry ${from + i} came as entry ${e.index}`);
  });
  const next = x.next === null || x.next === undefined ? null : x.next;
  if (next !== null && !isIndex(next)) throw badAnswer("a page of entries with a bad next index");
  return { size: x.size, entries, next };
}

const isHashList = (x: unknown): x is string[] => Array.isArray(x) && x.every(isStr);

function readInclusion(x: unknown): InclusionProof {
  if (!isObj(x) || !isIndex(x.index) || !isIndex(x.size) || !isHashList(x.proof)) {
    throw badAnswer("an inclusion proof without its index, tree size or hashes");
  }
  return {
    index: x.index,
    size: x.size,
    leafHash: isStr(x.leafHash) ? x.leafHash : "",
    proof: x.proof,
  };
}

function readConsistency(x: unknown): ConsistencyProof {
  if (!isObj(x) || !isIndex(x.from) || !isIndex(x.to) || !isHashList(x.proof)) {
    throw badAnswer("a consistency proof without its tree sizes or hashes");
  }
  return { from: x.from, to: x.to, proof: x.proof };
}

function readMe(x: unknown): Me {
  const m = isObj(x) && isObj(x.merchant) ? x.merchant : undefined;
  const k = isObj(x) && isObj(x.key) ? x.key : undefined;
  if (!m || !k || !isStr(m.id) || !isStr(m.name) || !isStr(k.id) || !isStr(k.role)) {
    throw badAnswer("who the API key belongs to");
  }
  return { merchant: { id: m.id, name: m.name }, key: { id: k.id, role: k.role } };
}

export const api = {
  key: async () => (await text("/v1/ledger/key")).trim(),
  checkpoint: () => text("/v1/ledger/checkpoint"),
  health: async () => (await json("/health")) as Health,
  /** With this tab's API key: that merchant's sealed entries come whole, others' sealed. */
  entries: async (from: number, limit: number) =>
    readEntriesPage(await json(`/v1/ledger/entries?from=${from}&limit=${limit}`, "session"), from),
  entry: async (index: number) => {
    const view = readEntryView(await json(`/v1/ledger/entries/${index}`, "session"));
    if (view.index !== index) throw badAnswer(`entry ${index} came as entry ${view.index}`);
    return view;
  },
  inclusion: async (index: number, size: number) =>
    readInclusion(await json(`/v1/ledger/proofs/inclusion?index=${index}&size=${size}`)),
  consistency: async (from: number, to: number) =>
    readConsistency(await json(`/v1/ledger/proofs/consistency?from=${from}&to=${to}`)),
  /** undefined when the node has no anchoring API (older nodes answer 404). */
  anchors: async (): Promise<Anchors | undefined> => {
    try {
      return (await json("/v1/ledger/anchors")) as Anchors;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  },
  /** Who `key` belongs to; 401 for a key the node does not know. */
  me: async (key: string) => readMe(await json("/v1/me", { key })),
  receiptUrl: (index: number, size?: number) =>
    `/v1/ledger/receipts/${index}${size === undefined ? "" : `?size=${size}`}`,
  /** A receipt, read with this tab's API key (a sealed entry's receipt goes to its parties). */
  receipt: (index: number, size?: number) => text(api.receiptUrl(index, size), "session"),
};
