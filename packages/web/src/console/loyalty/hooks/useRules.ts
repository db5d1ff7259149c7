import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { z } from "zod";
import { call, callNoContent } from "../../api/client.js";
import { Published, RuleList, RuleView, Simulation } from "../api.js";

const path = (id: string) => `/v1/loyalty/rules/${encodeURIComponent(id)}`;

export function useRules() {
  return useQuery({
    queryKey: ["loyalty", "rules"],
    queryFn: () => call("GET", "/v1/loyalty/rules", RuleList),
  });
}

export function useRule(id: string | undefined) {
  return useQuery({
    queryKey: ["loyalty", "rules", id],
    queryFn: () => call("GET", path(id as string), RuleView),
    enabled: id !== undefined,
  });
}

/** Saves a draft: a new rule (its id made up when left out) or the next version of one. */
export function useSaveDraft() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: { id?: string; document: unknown }) =>
      call("POST", "/v1/loyalty/rules", RuleView, {
        body: { ...(input.id ? { id: input.id } : {}), document: input.document },
      }),
    onSuccess: (rule) => {
      client.setQueryData(["loyalty", "rules", rule.id], rule);
      client.invalidateQueries({ queryKey: ["loyalty", "rules"], exact: true });
    },
  });
}

export function useDropDraft(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => callNoContent("DELETE", `${path(id)}/draft`),
    onSuccess: () => client.invalidateQueries({ queryKey: ["loyalty", "rules"] }),
  });
}

/** Publishes the draft now, or from `effectiveFrom` (RFC 3339). */
export function usePublish(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (effectiveFrom: string | undefined) =>
      call("POST", `${path(id)}/publish`, Published.extend({ hash: z.string() }), {
        body: effectiveFrom ? { effectiveFrom } : {},
      }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["loyalty", "rules"] }),
  });
}

export function useRetire(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (effectiveFrom: string | undefined) =>
      call("POST", `${path(id)}/retire`, Published, {
        body: effectiveFrom ? { effectiveFrom } : {},
      }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["loyalty", "rules"] }),
  });
}

export type SimulatedRule = string | { id: string; document: unknown };

/** Runs a rule set over a past window's orders, beside the set in force; writes nothing. */
export function useSimulate() {
  return useMutation({
    mutationFn: (input: { rules: SimulatedRule[]; from: string; to: string }) =>
      call("POST", "/v1/loyalty/simulate", Simulation, { body: input }),
  });
}

const PublishedEntry = z.looseObject({
  entry: z.looseObject({ payload: z.looseObject({ document: z.unknown() }) }),
});

/**
 * The document a rule.published entry carries: a rule with no draft and no version in force
 * (retired, or only scheduled) opens the editor on its latest publication, read from the
 * ledger where it is public.
 */
export function usePublishedDocument(entryIndex: number | undefined) {
  return useQuery({
    queryKey: ["ledger", "entry", entryIndex],
    queryFn: async () =>
      (await call("GET", `/v1/ledger/entries/${entryIndex}`, PublishedEntry)).entry.payload
        .document,
    enabled: entryIndex !== undefined,
    staleTime: Number.POSITIVE_INFINITY,
  });
}
