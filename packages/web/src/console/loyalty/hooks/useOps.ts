import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { call } from "../../api/client.js";
import {
  Adjustment,
  AdjustmentList,
  ProgrammeTerms,
  Redemption,
  Reward,
  RewardList,
} from "../ops-api.js";

// The catalogue, adjustments and till: reads and the writes that change them.

const REWARDS = ["loyalty", "rewards"] as const;
const ADJUSTMENTS = ["loyalty", "adjustments"] as const;

/** What points are called, their currency and the adjustments' approval threshold. */
export function useProgrammeTerms() {
  return useQuery({
    queryKey: ["loyalty", "programme", "terms"],
    queryFn: () => call("GET", "/v1/loyalty/programme", ProgrammeTerms),
  });
}

export function useRewards() {
  return useQuery({
    queryKey: REWARDS,
    queryFn: () => call("GET", "/v1/loyalty/rewards", RewardList),
  });
}

export interface RewardBody {
  name: string;
  points: number;
  stock: number | null;
  perCustomerLimit: number | null;
  active: boolean;
}

/** Creates a reward (`id` undefined) or changes one: a public reward.set entry either way. */
export function useSaveReward() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (v: { id?: string; body: RewardBody }) =>
      v.id
        ? call("PATCH", `/v1/loyalty/rewards/${encodeURIComponent(v.id)}`, Reward, {
            body: v.body,
          })
        : call("POST", "/v1/loyalty/rewards", Reward, { body: v.body }),
    onSuccess: () => client.invalidateQueries({ queryKey: REWARDS }),
  });
}

/** Withdraws a reward (active: false); its history stays and its holds can still close. */
export function useDeactivateReward() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      call("DELETE", `/v1/loyalty/rewards/${encodeURIComponent(id)}`, Reward),
    onSuccess: () => client.invalidateQueries({ queryKey: REWARDS }),
  });
}

export function useAdjustments(status: string) {
  return useQuery({
    queryKey: [...ADJUSTMENTS, status],
    queryFn: () =>
      call("GET", "/v1/loyalty/adjustments", AdjustmentList, {
        query: { status: status || undefined, limit: 200 },
      }),
  });
}

export interface AdjustmentBody {
  customerId: string;
  direction: "credit" | "debit";
  points: number;
  reason: string;
  note: string;
}

export function useCreateAdjustment() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (v: { body: AdjustmentBody; key: string }) =>
      call("POST", "/v1/loyalty/adjustments", Adjustment, {
        body: v.body,
        headers: { "idempotency-key": v.key },
      }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["loyalty"] }),
  });
}

export function useDecideAdjustment() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (v: { id: string; verb: "approve" | "reject" }) =>
      call("POST", `/v1/loyalty/adjustments/${encodeURIComponent(v.id)}/${v.verb}`, Adjustment),
    onSuccess: () => client.invalidateQueries({ queryKey: ["loyalty"] }),
  });
}

/** What a till's code stands for, looked up on demand (never cached: it is single use). */
export function useLookupCode() {
  return useMutation({
    mutationFn: (code: string) =>
      call("GET", `/v1/redemptions/code/${encodeURIComponent(code)}`, Redemption),
  });
}

export function useTillAction() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (v: {
      action: "capture" | "release";
      id: string;
      reference?: string;
      key: string;
    }) =>
      call("POST", `/v1/redemptions/${encodeURIComponent(v.id)}/${v.action}`, Redemption, {
        body: v.action === "capture" && v.reference ? { reference: v.reference } : {},
        headers: { "idempotency-key": v.key },
      }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["loyalty"] }),
  });
}
