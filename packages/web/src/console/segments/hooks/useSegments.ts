import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { call } from "../../api/client.js";
import { Count, Segment, SegmentPage } from "../../api/schemas.js";

export function useSegments() {
  return useQuery({
    queryKey: ["segments", "list"],
    queryFn: () => call("GET", "/v1/segments", SegmentPage, { query: { limit: 200 } }),
  });
}

/** How many active customers `condition` selects now: the builder's live count. */
export function useSegmentCount(condition: unknown, enabled: boolean) {
  return useQuery({
    queryKey: ["segments", "preview", JSON.stringify(condition)],
    queryFn: () => call("POST", "/v1/segments/preview", Count, { body: { condition } }),
    enabled,
    placeholderData: keepPreviousData,
    staleTime: 5_000,
  });
}

export function useDefineSegment() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: { name: string; condition: unknown }) =>
      call("POST", "/v1/segments", Segment, { body: input }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["segments", "list"] }),
  });
}
