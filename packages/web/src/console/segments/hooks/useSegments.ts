import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { z } from "zod";
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

/** A saved segment with how many customers it holds now. */
export function useSegment(id: string) {
  return useQuery({
    queryKey: ["segments", "one", id],
    queryFn: () =>
      call("GET", `/v1/segments/${encodeURIComponent(id)}`, Segment.extend({ count: z.number() })),
  });
}

/** Renames a segment or changes its condition: one sealed entry naming what changed. */
export function useChangeSegment(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (changes: { name?: string; condition?: unknown }) =>
      call("PATCH", `/v1/segments/${encodeURIComponent(id)}`, Segment, { body: changes }),
    // Its count, the list and the customer list's segment filter all read it again.
    onSuccess: () => client.invalidateQueries({ queryKey: ["segments"] }),
  });
}

export function useDeleteSegment() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      call(
        "DELETE",
        `/v1/segments/${encodeURIComponent(id)}`,
        z.object({ id: z.string(), deletedAt: z.string(), entryIndex: z.number() }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: ["segments"] }),
  });
}
