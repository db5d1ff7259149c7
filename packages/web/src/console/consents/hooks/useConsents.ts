import {
  keepPreviousData,
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query";
import { z } from "zod";
import { call } from "../../api/client.js";
import {
  type Basis,
  Consent,
  type ConsentMethod,
  type ConsentPurpose,
  type ConsentStatus,
  Purpose,
} from "../../api/schemas.js";

const path = (id: string) => `/v1/customers/${encodeURIComponent(id)}/consents`;

/** A customer's consents, newest first, each with its status as of now. */
export function useCustomerConsents(customerId: string) {
  return useQuery({
    queryKey: ["consents", "customer", customerId],
    queryFn: () => call("GET", path(customerId), z.object({ consents: z.array(Consent) })),
  });
}

/** What staff record of a consent given without a key: its terms and its evidence. */
export interface ConsentRecord {
  purposes: ConsentPurpose[];
  categories: string[];
  validUntil: string;
  method: ConsentMethod;
  /** The exact text the customer was shown, and its version label. */
  text: string;
  textVersion: string;
  shownAt?: string;
  /** double_opt_in: which of the customer's emails the link goes to. */
  email?: string;
}

const Recorded = z.union([
  z.object({ consent: Consent, receipt: z.string() }),
  z.object({ requestId: z.string(), expiresAt: z.string(), delivery: z.string() }),
]);
export type Recorded = z.infer<typeof Recorded>;

/** Records a consent (201: recorded) or emails a double opt-in link (202: waiting for it). */
export function useRecordConsent(customerId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: ConsentRecord) => call("POST", path(customerId), Recorded, { body: input }),
    onSuccess: () => {
      client.invalidateQueries({ queryKey: ["consents"] });
      client.invalidateQueries({ queryKey: ["customers", "timeline", customerId] });
    },
  });
}

/** Records that the customer withdrew a consent, and how. */
export function useRevokeConsent() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: { id: string; method: Exclude<ConsentMethod, "double_opt_in"> }) =>
      call("POST", `/v1/consents/${encodeURIComponent(input.id)}/revoke`, Consent, {
        body: { method: input.method },
      }),
    onSuccess: (c) => {
      client.invalidateQueries({ queryKey: ["consents"] });
      client.invalidateQueries({ queryKey: ["customers", "timeline", c.customerId] });
    },
  });
}

export interface ConsentFilters {
  purpose?: ConsentPurpose;
  status?: ConsentStatus;
}

/** Every customer's consents, by purpose and status as of now; "Load more" follows the cursor. */
export function useConsentList(filters: ConsentFilters) {
  return useInfiniteQuery({
    queryKey: ["consents", "list", filters],
    queryFn: ({ pageParam }) =>
      call(
        "GET",
        "/v1/consents",
        z.object({ consents: z.array(Consent), next: z.string().nullable() }),
        { query: { ...filters, cursor: pageParam, limit: 50 } },
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next ?? undefined,
    placeholderData: keepPreviousData,
  });
}

export function usePurposes() {
  return useQuery({
    queryKey: ["purposes"],
    queryFn: () => call("GET", "/v1/purposes", z.object({ purposes: z.array(Purpose) })),
  });
}

export interface PurposeDeclaration {
  id: string;
  name: string;
  basis: Basis;
  note?: string;
  defaultFor?: string[];
  retired?: boolean;
}

/** Declares a purpose or changes its basis (owners and admins): a sealed entry. */
export function useDeclarePurpose() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, ...body }: PurposeDeclaration) =>
      call("PUT", `/v1/purposes/${encodeURIComponent(id)}`, Purpose, { body }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["purposes"] }),
  });
}
