import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { z } from "zod";
import { call } from "../../api/client.js";
import { MergeSuggestion } from "../../api/schemas.js";

const SUGGESTIONS = ["customers", "merge-suggestions"] as const;

/** Open pairs of customers that may be one person (made by imports). */
export function useMergeSuggestions() {
  return useQuery({
    queryKey: SUGGESTIONS,
    queryFn: () =>
      call("GET", "/v1/merge-suggestions", z.object({ suggestions: z.array(MergeSuggestion) }), {
        query: { limit: 50 },
      }),
  });
}

/**
 * Settles a suggestion: the two are different people. The list is read again either way, since
 * a refusal (409) means a colleague already dismissed or merged the pair.
 */
export function useDismissSuggestion() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      call(
        "POST",
        `/v1/merge-suggestions/${encodeURIComponent(id)}/dismiss`,
        z.object({ id: z.string(), status: z.literal("dismissed") }),
      ),
    onSettled: () => client.invalidateQueries({ queryKey: SUGGESTIONS }),
  });
}
