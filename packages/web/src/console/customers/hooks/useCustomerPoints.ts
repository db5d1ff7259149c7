import { useQuery } from "@tanstack/react-query";
import { z } from "zod";
import { call } from "../../api/client.js";

// GET /v1/customers/{id}/points (packages/server/src/loyalty/routes.ts): the customer's points as
// the node's projection gives them. Reading them is a use of the customer's loyalty data: the
// node records it under the staff member's default purpose, as it does for the timeline.

const Qualification = z.object({
  tier: z.string(),
  metric: z.enum(["points", "spend"]),
  figure: z.number(),
  threshold: z.number(),
  months: z.number(),
  windowStart: z.string(),
  windowEnd: z.string(),
});
export type Qualification = z.infer<typeof Qualification>;

export const CustomerPoints = z.object({
  customerId: z.string(),
  pointName: z.string(),
  balance: z.number(),
  pending: z.number(),
  held: z.number(),
  debt: z.number(),
  tier: z.string().nullable(),
  tierProgress: z.object({
    current: Qualification.nullable(),
    next: Qualification.nullable(),
  }),
  expired: z.number(),
  lotCount: z.number(),
});
export type CustomerPoints = z.infer<typeof CustomerPoints>;

export function useCustomerPoints(id: string) {
  return useQuery({
    queryKey: ["customers", "points", id],
    // One lot is enough: the card shows the totals and the count of lots.
    queryFn: () =>
      call("GET", `/v1/customers/${encodeURIComponent(id)}/points`, CustomerPoints, {
        query: { limit: 1 },
      }),
  });
}
