import { useMutation, useQuery } from "@tanstack/react-query";
import { useCallback, useSyncExternalStore } from "react";
import { z } from "zod";
import { call, callText, PortalApiError } from "../api/client.js";
import { Me } from "../api/schemas.js";
import { signedIn } from "../session/hooks.js";
import { useSession } from "../session/session.js";
import { type ChainAnchor, checkAnchorOnChain, settled } from "./chain.js";
import {
  type Continuity,
  checkContinuity,
  continuityProofNeeded,
  headToRemember,
  remembers,
} from "./continuity.js";
import { checkDataUse, checkHistory, type HistoryVerdict } from "./history.js";
import { loadLastCheck, saveLastCheck } from "./last-check.js";
import { Anchors, Consistency, DataAccess, Fields, HistoryPage } from "./schemas.js";

// The verification pages' calls. Each answer is parsed, then proven in the browser
// (history.ts); a page shows "verified" only for what was proven here.

/** The log's verifier key, as the node publishes it (the export carries it too). */
export function useVerifierKey() {
  return useQuery({
    queryKey: ["portal", "ledger-key"],
    queryFn: () => callText("/v1/ledger/key"),
    staleTime: Number.POSITIVE_INFINITY,
  });
}

export type HistoryStep =
  | { step: "key" }
  | { step: "history"; fetched: number }
  | { step: "fields"; fetched: number }
  | { step: "verify"; fetched: number };

const PAGE = 500;

/** Lets the page draw the step before the next one runs (verification is synchronous). */
const paint = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export interface HistoryCheck {
  verdict: HistoryVerdict;
  key: string;
  /** The key the customer signs with here now. */
  currentKey: string;
  /** The customer's record id (the last check is remembered under it). */
  customer: string;
  /** What a verified history says of the last one this browser verified (continuity.ts). */
  continuity?: Continuity;
}

/** A consistency proof from the node; the caller checks it. */
const consistency = (from: number, to: number) =>
  call("GET", `/v1/ledger/proofs/consistency?from=${from}&to=${to}`, Consistency);

/** How far each merchant's check got: pages that share the check share its progress. */
const steps = new Map<string, HistoryStep>();
const stepListeners = new Set<() => void>();
const KEY_STEP: HistoryStep = { step: "key" };

function useStep(merchant: string): [HistoryStep, (s: HistoryStep) => void] {
  const step = useSyncExternalStore(
    (listener) => {
      stepListeners.add(listener);
      return () => stepListeners.delete(listener);
    },
    () => steps.get(merchant) ?? KEY_STEP,
  );
  const set = useCallback(
    (s: HistoryStep) => {
      steps.set(merchant, s);
      for (const l of stepListeners) l();
    },
    [merchant],
  );
  return [step, set];
}

/**
 * The customer's whole history, every page proven in the first page's checkpoint, with every
 * stored field value, checked in the browser. `step` says how far it got while it runs.
 */
export function useHistoryCheck(merchant: string) {
  const session = useSession(merchant);
  const [step, setStep] = useStep(merchant);
  const run = useCallback(async (): Promise<HistoryCheck> => {
    setStep({ step: "key" });
    const key = await callText("/v1/ledger/key");
    const me = await signedIn(merchant, (token) => call("GET", "/v1/portal/me", Me, { token }));
    setStep({ step: "history", fetched: 0 });
    const get = (query: string) =>
      signedIn(merchant, (token) =>
        call("GET", `/v1/portal/history?limit=${PAGE}${query}`, HistoryPage, { token }),
      );
    const first = await get("");
    const entries = [...first.entries];
    let page = first;
    while (page.next !== null) {
      setStep({ step: "history", fetched: entries.length });
      page = await get(`&before=${page.next}&size=${first.size}`);
      if (page.checkpoint !== first.checkpoint) {
        throw new PortalApiError(
          200,
          "bad_answer",
          "a page of the history came in another checkpoint",
        );
      }
      entries.push(...page.entries);
    }
    setStep({ step: "fields", fetched: entries.length });
    const { fields } = await signedIn(merchant, (token) =>
      call("GET", "/v1/portal/fields", Fields, { token }),
    );
    setStep({ step: "verify", fetched: entries.length });
    await paint();
    const verdict = checkHistory({
      key,
      checkpoint: first.checkpoint,
      records: first.records,
      entries,
      fields,
      profileHead: me.profile.head,
    });
    const customer = me.profile.id;
    if (!verdict.ok) return { verdict, key, currentKey: me.key, customer };
    // The last head this browser verified: the log must still hold it, the chain still reach it.
    const last = loadLastCheck(merchant, customer);
    const need = continuityProofNeeded(last, verdict.head);
    const proof = need
      ? await consistency(need.from, need.to).catch((err: unknown) => ({
          error: err instanceof Error ? err.message : String(err),
        }))
      : undefined;
    const continuity = checkContinuity(last, verdict.head, verdict.entries, proof);
    if (remembers(continuity)) {
      saveLastCheck(merchant, customer, headToRemember(verdict.head, verdict.entries, new Date()));
    }
    return { verdict, key, currentKey: me.key, customer, continuity };
  }, [merchant, setStep]);
  const query = useQuery({
    queryKey: ["portal", merchant, "history-check", session?.sessionId],
    queryFn: run,
    enabled: session !== null,
    // A verdict stands for the checkpoint it was made in; the page offers to check again.
    staleTime: 60_000,
  });
  return { ...query, step };
}

/**
 * Whether the history is anchored on chain, read from the chain itself by JSON-RPC (chain.ts,
 * chain-reader.ts): asked again while the anchor is still to come or the chain did not answer.
 */
export function useHistoryAnchor(check: HistoryCheck | undefined) {
  const verdict = check?.verdict.ok ? check.verdict : undefined;
  const newest = verdict?.entries[0]?.index;
  return useQuery({
    queryKey: ["portal", "history-anchor", verdict?.head.size, verdict?.head.rootHex, newest],
    enabled: verdict !== undefined && newest !== undefined,
    queryFn: async (): Promise<ChainAnchor> => {
      if (!verdict || newest === undefined) return { kind: "unavailable" };
      const list = await call("GET", "/v1/ledger/anchors?limit=100", Anchors).catch((err) => {
        if (err instanceof PortalApiError && err.status === 404) return undefined;
        throw err;
      });
      // viem is loaded only here, when there is a chain to read.
      const { rpcAnchorReader } = list?.rpcUrl
        ? await import("./chain-reader.js")
        : { rpcAnchorReader: undefined };
      return checkAnchorOnChain({
        list,
        head: verdict.head,
        newest,
        reader: (url, contract) => {
          if (!rpcAnchorReader) throw new Error("no chain reader");
          return rpcAnchorReader(url, contract);
        },
        consistency,
      });
    },
    refetchInterval: (q) => {
      const s = q.state.data;
      if (settled(s)) return false;
      return s?.kind === "pending" || s === undefined ? 3_000 : 10_000;
    },
  });
}

/** Every use of the customer's data, each record proven in its batch and the checkpoint. */
export function useDataUse(merchant: string) {
  const session = useSession(merchant);
  return useQuery({
    queryKey: ["portal", merchant, "data-use", session?.sessionId],
    enabled: session !== null,
    queryFn: async () => {
      const key = await callText("/v1/ledger/key");
      const answer = await signedIn(merchant, (token) =>
        call("GET", "/v1/portal/data-access?limit=1000", DataAccess, { token }),
      );
      return {
        ...checkDataUse(answer, key),
        purposeNames: new Map(answer.purposes.map((p) => [p.id, p.name])),
      };
    },
  });
}

/** Enough of an export bundle to know it is one (patron verify checks the rest). */
const ExportBundle = z.looseObject({
  format: z.literal("patron-export/v1"),
  entries: z.array(z.unknown()),
});

/** The file name of an export: `patron-export-<merchant>-<date>.json`. */
export const exportFileName = (merchant: string, now = new Date()) =>
  `patron-export-${merchant}-${now.toISOString().slice(0, 10)}.json`;

/** Downloads the export bundle (GET /v1/portal/export) as a file, exactly as the node sent it. */
export function useExport(merchant: string) {
  return useMutation({
    mutationFn: async () => {
      const text = await signedIn(merchant, (token) => callText("/v1/portal/export", { token }));
      let bundle: z.infer<typeof ExportBundle>;
      try {
        bundle = ExportBundle.parse(JSON.parse(text));
      } catch {
        throw new PortalApiError(200, "bad_answer", "/v1/portal/export: not an export bundle");
      }
      const name = exportFileName(merchant);
      const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = name;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      return { name, entries: bundle.entries.length, bytes: text.length };
    },
  });
}
