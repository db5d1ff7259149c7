import { type QueryClient, useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, readEntryView } from "../../../lib/api.js";
import { fetchVerifiedHead } from "../../../lib/head.js";
import {
  type EntryVerification,
  type VerifiedCheckpoint,
  verifyEntry,
  verifySealedEntry,
} from "../../../lib/verify.js";
import { ConsoleApiError } from "../../api/client.js";

const HEAD_KEY = ["ledger", "head"] as const;

/** The latest checkpoint, its signature checked here against the node's verifier key. */
export function useVerifiedHead() {
  return useQuery({ queryKey: HEAD_KEY, queryFn: fetchVerifiedHead, staleTime: 10_000 });
}

/**
 * Entry `index`, verified in this browser exactly as the explorer verifies it: canonical
 * bytes, the leaf hash recomputed, the inclusion proof up to a signed checkpoint. The session
 * cookie makes the node send the merchant's sealed entries whole.
 */
export function verifiedEntryQuery(client: QueryClient, index: number | undefined) {
  return {
    queryKey: ["ledger", "entry", index],
    enabled: index !== undefined,
    staleTime: Number.POSITIVE_INFINITY,
    queryFn: async (): Promise<EntryVerification> => {
      if (index === undefined) throw new Error("no entry to verify");
      const head: VerifiedCheckpoint = await client.fetchQuery({
        queryKey: HEAD_KEY,
        queryFn: fetchVerifiedHead,
        staleTime: 10_000,
      });
      const res = await fetch(`/v1/ledger/entries/${index}`, {
        headers: { accept: "application/json" },
        credentials: "same-origin",
      });
      if (!res.ok) {
        throw new ConsoleApiError(res.status, "http_error", `entry ${index}: ${res.status}`);
      }
      const view = readEntryView(await res.json());
      if (view.index !== index) {
        throw new ConsoleApiError(200, "bad_answer", `entry ${index} came as ${view.index}`);
      }
      // A checkpoint older than the entry cannot include it: read the newest one.
      const tree = index < head.size ? head : await fetchVerifiedHead();
      const proof = await api.inclusion(index, tree.size);
      return "canonical" in view
        ? verifyEntry({
            index,
            canonical: view.canonical,
            claimedLeafHash: view.leafHash,
            proof,
            head: tree,
          })
        : verifySealedEntry({ index, claimedLeafHash: view.leafHash, proof, head: tree });
    },
  };
}

export function useVerifiedEntry(index: number | undefined) {
  const client = useQueryClient();
  return useQuery(verifiedEntryQuery(client, index));
}

/** Several entries at once, each verified as `useVerifiedEntry` does (shared cache). */
export function useVerifiedEntries(indices: readonly number[]) {
  const client = useQueryClient();
  return useQueries({ queries: indices.map((i) => verifiedEntryQuery(client, i)) });
}
