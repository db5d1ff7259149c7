import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { z } from "zod";
import { call } from "../../api/client.js";
import { AccessPage, Note, TimelinePage } from "../../api/schemas.js";

/** Everything recorded about the customer across channels, newest first. */
export function useTimeline(id: string) {
  return useInfiniteQuery({
    queryKey: ["customers", "timeline", id],
    queryFn: ({ pageParam }) =>
      call("GET", `/v1/customers/${encodeURIComponent(id)}/timeline`, TimelinePage, {
        query: { cursor: pageParam, limit: 25 },
      }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next ?? undefined,
  });
}

export function useAddNote(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (text: string) =>
      call("POST", `/v1/customers/${encodeURIComponent(id)}/notes`, Note, { body: { text } }),
    onSuccess: () => {
      client.invalidateQueries({ queryKey: ["customers", "timeline", id] });
      client.invalidateQueries({ queryKey: ["customers", "one", id] });
    },
  });
}

/** The access records of the customer's data, each with its proof once its batch is committed. */
export function useAccessRecords(id: string) {
  return useInfiniteQuery({
    queryKey: ["customers", "access", id],
    queryFn: ({ pageParam }) =>
      call("GET", `/v1/customers/${encodeURIComponent(id)}/data-access`, AccessPage, {
        query: { cursor: pageParam, limit: 20 },
      }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next ?? undefined,
  });
}

export function useDeleteNote(customerId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (noteId: string) =>
      call(
        "DELETE",
        `/v1/customers/${encodeURIComponent(customerId)}/notes/${encodeURIComponent(noteId)}`,
        z.object({ id: z.string(), deletedAt: z.string(), entryIndex: z.number() }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: ["customers", "timeline", customerId] }),
  });
}
