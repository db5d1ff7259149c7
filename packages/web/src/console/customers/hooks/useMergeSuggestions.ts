import { useQuery } from "@tanstack/react-query";
import { z } from "zod";
import { call } from "../../api/client.js";
import { MergeSuggestion } from "../../api/schemas.js";

/** Open pairs of customers that may be one person (made by imports). */
export function useMergeSuggestions() {
  return useQuery({
    queryKey: ["customers", "merge-suggestions"],
    queryFn: () =>
      call("GET", "/v1/merge-suggestions", z.object({ suggestions: z.array(MergeSuggestion) }), {
        query: { limit: 50 },
      }),
  });
}
