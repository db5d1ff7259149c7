import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { z } from "zod";
import { ConsoleApiError, call } from "../../api/client.js";
import { MergeSuggestion } from "../../api/schemas.js";

const SUGGESTIONS = ["customers", "merge-suggestions"] as const;

/**
 * Pairs of customers that may be one person (made by imports): the open ones, or the ones staff
 * dismissed (read only when asked for).
 */
export function useMergeSuggestions(status: "open" | "dismissed" = "open", enabled = true) {
  return useQuery({
    queryKey: [...SUGGESTIONS, status],
    queryFn: () =>
      call("GET", "/v1/merge-suggestions", z.object({ suggestions: z.array(MergeSuggestion) }), {
        query: { limit: 50, status },
      }),
    enabled,
  });
}

/**
 * One suggestion by its id, whatever its status: the compare page reads the one it was opened
 * for, not a list of the newest, which need not hold it. Not found is `null`.
 */
export function useMergeSuggestion(id: string | undefined) {
  return useQuery({
    queryKey: [...SUGGESTIONS, "one", id],
    queryFn: async () => {
      try {
        return await call(
          "GET",
          `/v1/merge-suggestions/${encodeURIComponent(id ?? "")}`,
          MergeSuggestion,
        );
      } catch (err) {
        // Another merchant's, or an id no suggestion has (a link edited by hand): no suggestion.
        if (err instanceof ConsoleApiError && (err.status === 404 || err.status === 400)) {
          return null;
        }
        throw err;
      }
    },
    enabled: id !== undefined,
  });
}

/** Reopens a dismissed suggestion (dismissed by mistake): both lists are read again. */
export function useReopenSuggestion() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      call(
        "POST",
        `/v1/merge-suggestions/${encodeURIComponent(id)}/reopen`,
        z.object({ id: z.string(), status: z.literal("open") }),
      ),
    onSettled: () => client.invalidateQueries({ queryKey: SUGGESTIONS }),
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
