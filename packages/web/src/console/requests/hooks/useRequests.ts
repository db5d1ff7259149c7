import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { z } from "zod";
import { call, callNoContent } from "../../api/client.js";
import {
  type RequestKind,
  RetentionHold,
  RetentionPolicy,
  SubjectRequest,
} from "../../api/schemas.js";

const Requests = z.object({ requests: z.array(SubjectRequest) });

/** The data-subject request queue, soonest deadline first: open or closed ones. */
export function useRequestQueue(status: "open" | "closed") {
  return useQuery({
    queryKey: ["requests", "queue", status],
    queryFn: () => call("GET", "/v1/subject-requests", Requests, { query: { status, limit: 500 } }),
  });
}

/** One customer's requests, open and closed. */
export function useCustomerRequests(customerId: string) {
  return useQuery({
    queryKey: ["requests", "customer", customerId],
    queryFn: () =>
      call("GET", "/v1/subject-requests", Requests, {
        query: { customer: customerId, limit: 500 },
      }),
  });
}

export interface RequestRecord {
  kind: RequestKind;
  channel: string;
  checks: string[];
}

/** Records a request that came by email, post, phone, in person or to staff. */
export function useRecordRequest(customerId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: RequestRecord) =>
      call("POST", `/v1/customers/${encodeURIComponent(customerId)}/requests`, SubjectRequest, {
        body: input,
      }),
    onSuccess: () => {
      client.invalidateQueries({ queryKey: ["requests"] });
      client.invalidateQueries({ queryKey: ["customers", "timeline", customerId] });
    },
  });
}

const Executed = z.object({
  request: SubjectRequest,
  export: z.record(z.string(), z.unknown()).optional(),
});
export type Executed = z.infer<typeof Executed>;

export type RequestAction =
  | { action: "verify"; checks: string[] }
  | { action: "extend"; months: 1 | 2; reason: string }
  | { action: "reject"; reason: string }
  | { action: "execute"; patch?: Record<string, unknown> };

/**
 * Moves a request on: verify (identity checks), extend, reject or execute. Executing an erasure
 * erases the customer (keeping what retention policies hold); an access or export request
 * answers the export bundle.
 */
export function useRequestAction(requestId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (input: RequestAction): Promise<Executed> => {
      const url = `/v1/subject-requests/${encodeURIComponent(requestId)}/${input.action}`;
      if (input.action === "execute") {
        return call("POST", url, Executed, { body: input.patch ? { patch: input.patch } : {} });
      }
      const { action: _a, ...body } = input;
      return { request: await call("POST", url, SubjectRequest, { body }) };
    },
    onSuccess: (done) => {
      client.invalidateQueries({ queryKey: ["requests"] });
      client.invalidateQueries({ queryKey: ["customers"] });
      client.invalidateQueries({ queryKey: ["retention", "holds", done.request.customerId] });
      client.invalidateQueries({ queryKey: ["consents"] });
      client.invalidateQueries({ queryKey: ["keys", done.request.customerId] });
    },
  });
}

export function useRetentionPolicies() {
  return useQuery({
    queryKey: ["retention", "policies"],
    queryFn: () =>
      call("GET", "/v1/retention-policies", z.object({ policies: z.array(RetentionPolicy) })),
  });
}

/** Sets a retention policy (owners and admins): an entry on the merchant's chain. */
export function useSetPolicy() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, ...body }: RetentionPolicy) =>
      call("PUT", `/v1/retention-policies/${encodeURIComponent(id)}`, RetentionPolicy, { body }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["retention", "policies"] }),
  });
}

/**
 * Removes a retention policy; holds already made run to their end. The list is read again
 * either way: a refusal (a colleague removed it meanwhile) shows the list as the node has it.
 */
export function useRemovePolicy() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      callNoContent("DELETE", `/v1/retention-policies/${encodeURIComponent(id)}`),
    onSettled: () => client.invalidateQueries({ queryKey: ["retention", "policies"] }),
  });
}

/** What an erasure kept of the customer, under which policy, until when. */
export function useRetentionHolds(customerId: string, enabled: boolean) {
  return useQuery({
    queryKey: ["retention", "holds", customerId],
    enabled,
    queryFn: () =>
      call(
        "GET",
        `/v1/customers/${encodeURIComponent(customerId)}/retention`,
        z.object({ holds: z.array(RetentionHold) }),
      ),
  });
}
