import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { call } from "../../api/client.js";
import { Import, ImportIssues, ImportPage } from "../../api/schemas.js";

/** Sends the CSV as it is (text/csv): a dry run checks every row and writes nothing. */
export function useUploadImport() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: {
      file: Blob;
      dryRun: boolean;
      /** Header → field, or null to leave a column out; unnamed headers map themselves. */
      map?: Record<string, string | null>;
      /** The country of phone numbers written without +. */
      country?: string;
    }) =>
      call("POST", "/v1/imports/customers", Import, {
        query: {
          dryRun: input.dryRun ? "true" : undefined,
          map:
            input.map && Object.keys(input.map).length > 0 ? JSON.stringify(input.map) : undefined,
          country: input.country || undefined,
        },
        raw: { data: input.file, type: "text/csv; charset=utf-8" },
      }),
    onSuccess: (imp) => {
      client.setQueryData(["imports", "one", imp.id], imp);
      client.invalidateQueries({ queryKey: ["imports", "list"] });
      if (!imp.dryRun) client.invalidateQueries({ queryKey: ["customers", "list"] });
    },
  });
}

export const finished = (status: Import["status"] | undefined) =>
  status === "completed" || status === "failed" || status === "interrupted";

/** An import's progress, read again every half second until it finishes. */
export function useImport(id: string | undefined) {
  const client = useQueryClient();
  return useQuery({
    queryKey: ["imports", "one", id],
    enabled: id !== undefined,
    queryFn: async () => {
      const imp = await call("GET", `/v1/imports/${encodeURIComponent(id ?? "")}`, Import);
      if (finished(imp.status)) {
        client.invalidateQueries({ queryKey: ["imports", "list"] });
        if (!imp.dryRun) client.invalidateQueries({ queryKey: ["customers", "list"] });
      }
      return imp;
    },
    refetchInterval: (q) => (finished(q.state.data?.status) ? false : 500),
  });
}

const PAGE = 20;

/**
 * The merchant's imports (and checks), newest first, a page after another on the node's cursor;
 * every page loaded is read again while one of them is being written.
 */
export function useImportList() {
  return useInfiniteQuery({
    queryKey: ["imports", "list"],
    queryFn: ({ pageParam }) =>
      call("GET", "/v1/imports", ImportPage, { query: { cursor: pageParam, limit: PAGE } }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next ?? undefined,
    refetchInterval: (q) =>
      q.state.data?.pages.some((p) => p.imports.some((imp) => !finished(imp.status)))
        ? 1_000
        : false,
  });
}

/** Goes on with an interrupted import from its first row without an outcome. */
export function useResumeImport() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      call("POST", `/v1/imports/${encodeURIComponent(id)}/resume`, Import),
    onSuccess: (imp) => {
      // Running again: its page follows its progress, the list reads it again.
      client.setQueryData(["imports", "one", imp.id], imp);
      client.invalidateQueries({ queryKey: ["imports", "list"] });
      client.invalidateQueries({ queryKey: ["imports", "issues", imp.id] });
    },
  });
}

/** The rows an import rejected, with their reasons (and warnings), a page after another. */
export function useImportIssues(id: string | undefined, ready: boolean) {
  return useInfiniteQuery({
    queryKey: ["imports", "issues", id],
    enabled: id !== undefined && ready,
    queryFn: ({ pageParam }) =>
      call("GET", `/v1/imports/${encodeURIComponent(id ?? "")}/errors`, ImportIssues, {
        query: { warnings: "true", limit: 500, after: pageParam },
      }),
    initialPageParam: undefined as number | undefined,
    getNextPageParam: (last) => last.next ?? undefined,
  });
}
