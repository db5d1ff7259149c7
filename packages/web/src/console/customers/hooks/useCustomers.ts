import {
  keepPreviousData,
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query";
import { z } from "zod";
import { call } from "../../api/client.js";
import { Customer, CustomerPage, type Stage } from "../../api/schemas.js";

export interface CustomerFilters {
  query?: string;
  stage?: Stage;
  tag?: string;
  segment?: string;
}

const PAGE = 25;

/** One page after another, newest first; "Load more" asks for the next cursor. */
export function useCustomerList(filters: CustomerFilters) {
  return useInfiniteQuery({
    queryKey: ["customers", "list", filters],
    queryFn: ({ pageParam }) =>
      call("GET", "/v1/customers", CustomerPage, {
        query: { ...filters, cursor: pageParam, limit: PAGE },
      }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next ?? undefined,
    placeholderData: keepPreviousData,
  });
}

export function useCustomer(id: string) {
  return useQuery({
    queryKey: ["customers", "one", id],
    queryFn: () => call("GET", `/v1/customers/${encodeURIComponent(id)}`, Customer),
  });
}

/** What the create form sends: the node's CustomerInput. */
export interface NewCustomer {
  name?: string;
  emails?: string[];
  phones?: string[];
  stage?: Stage;
  tags?: string[];
  language?: string;
  address?: Partial<Record<string, string>>;
  attributes?: Record<string, string | number | boolean | null>;
}

export function useCreateCustomer() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: NewCustomer) => call("POST", "/v1/customers", Customer, { body: input }),
    onSuccess: (c) => {
      client.setQueryData(["customers", "one", c.id], c);
      client.invalidateQueries({ queryKey: ["customers", "list"] });
    },
  });
}

/** A PATCH: `null` clears an optional field. */
export interface CustomerChanges {
  name?: string | null;
  emails?: string[];
  phones?: string[];
  stage?: Stage;
  tags?: string[];
  language?: string | null;
  birthday?: string | null;
  /** The whole address: it replaces the one the node holds. */
  address?: Partial<Record<string, string>> | null;
  identities?: { type: string; value: string }[];
  /** Merged into the current attributes; null removes one. */
  attributes?: Record<string, number | boolean | string | null>;
}

export function useUpdateCustomer(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (changes: CustomerChanges) =>
      call("PATCH", `/v1/customers/${encodeURIComponent(id)}`, Customer, { body: changes }),
    onSuccess: (c) => {
      client.setQueryData(["customers", "one", id], c);
      client.invalidateQueries({ queryKey: ["customers", "list"] });
      client.invalidateQueries({ queryKey: ["customers", "timeline", id] });
      client.invalidateQueries({ queryKey: ["customers", "access", id] });
    },
  });
}

/** Erases the customer on request: their data key and indexes are destroyed; proofs still hold. */
export function useEraseCustomer(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () =>
      call(
        "POST",
        `/v1/customers/${encodeURIComponent(id)}/erase`,
        z.object({ id: z.string(), erasedAt: z.string(), entryIndex: z.number() }),
      ),
    onSuccess: () => {
      client.invalidateQueries({ queryKey: ["customers"] });
    },
  });
}

const MergeAnswer = z.object({ customer: Customer, other: Customer, entryIndex: z.number() });

/** Merges `from` into `into`: one entry naming both; `from`'s identifiers move to `into`. */
export function useMergeCustomers() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: { into: string; from: string }) =>
      call("POST", `/v1/customers/${encodeURIComponent(input.into)}/merge`, MergeAnswer, {
        body: { from: input.from },
      }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["customers"] }),
  });
}

/** Undoes the merge that absorbed `id`: it is active again with its own identifiers. */
export function useUnmergeCustomer() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      call("POST", `/v1/customers/${encodeURIComponent(id)}/unmerge`, MergeAnswer),
    onSuccess: () => client.invalidateQueries({ queryKey: ["customers"] }),
  });
}
