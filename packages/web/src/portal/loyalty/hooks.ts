import { useQuery } from "@tanstack/react-query";
import { call, callText } from "../api/client.js";
import { signedIn } from "../session/hooks.js";
import { useSession } from "../session/session.js";
import { useHistoryCheck } from "../verify/hooks.js";
import { Points, PublishedRules } from "./schemas.js";
import { checkLoyaltyHistory, checkPublished, type PublishedCheck } from "./verify.js";

// The loyalty pages' data: one hook per need, so components never fetch.

/** The signed-in customer's points (GET /v1/portal/points): the node's word, a projection. */
export function usePoints(merchant: string) {
  const session = useSession(merchant);
  return useQuery({
    queryKey: ["portal", merchant, "points", session?.sessionId],
    enabled: session !== null,
    queryFn: () =>
      signedIn(merchant, (token) => call("GET", "/v1/portal/points?limit=1000", Points, { token })),
  });
}

export interface PublishedRulesCheck {
  answer: PublishedRules;
  check: PublishedCheck;
}

/**
 * The merchant's published rules and programme (public), every entry proven in the signed
 * checkpoint and every document checked against its hash, here.
 */
export function usePublishedRules(merchant: string) {
  return useQuery({
    queryKey: ["portal", merchant, "published-rules"],
    queryFn: async (): Promise<PublishedRulesCheck> => {
      const key = await callText("/v1/ledger/key");
      const answer = await call(
        "GET",
        `/v1/merchants/${encodeURIComponent(merchant)}/loyalty/rules`,
        PublishedRules,
      );
      return { answer, check: checkPublished(answer, key, merchant) };
    },
    staleTime: 60_000,
  });
}

/**
 * The customer's loyalty history: their verified history (the same check as the history
 * page's, shared), its loyalty entries, and every award recomputed from its published rule.
 */
export function useLoyaltyHistory(merchant: string) {
  const history = useHistoryCheck(merchant);
  const rules = usePublishedRules(merchant);
  const verdict = history.data?.verdict;
  const loyalty =
    verdict?.ok && rules.data ? checkLoyaltyHistory(verdict.entries, rules.data.check) : undefined;
  return { history, rules, loyalty };
}
