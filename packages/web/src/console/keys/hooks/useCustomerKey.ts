import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { z } from "zod";
import { call } from "../../api/client.js";
import { CreatedInvite, CustomerKey, Invite, Recovery } from "../../api/schemas.js";

const customer = (id: string) => `/v1/customers/${encodeURIComponent(id)}`;

/** The did:key the customer signs with here (or none), and the recoveries of it. */
export function useCustomerKey(customerId: string) {
  return useQuery({
    queryKey: ["keys", customerId],
    queryFn: () => call("GET", `${customer(customerId)}/key`, CustomerKey),
  });
}

/** The customer's invites, never their codes (a code is shown once, when it is made). */
export function useInvites(customerId: string) {
  return useQuery({
    queryKey: ["keys", customerId, "invites"],
    queryFn: () =>
      call("GET", `${customer(customerId)}/invites`, z.object({ invites: z.array(Invite) })),
  });
}

export function useCreateInvite(customerId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => call("POST", `${customer(customerId)}/invites`, CreatedInvite, { body: {} }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["keys", customerId] }),
  });
}

/** Starts a recovery after a lost key (owners and admins): a time-lock the old key can veto. */
export function useStartRecovery(customerId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: { key: string; checks: string[] }) =>
      call("POST", `${customer(customerId)}/recoveries`, Recovery, { body: input }),
    onSuccess: () => {
      client.invalidateQueries({ queryKey: ["keys", customerId] });
      client.invalidateQueries({ queryKey: ["customers", "timeline", customerId] });
    },
  });
}

/** Cancels a recovery in its time-lock, or completes one whose time-lock ended. */
export function useEndRecovery(customerId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: { id: string; action: "cancel" | "complete" }) =>
      call("POST", `/v1/recoveries/${encodeURIComponent(input.id)}/${input.action}`, Recovery),
    onSuccess: () => {
      client.invalidateQueries({ queryKey: ["keys", customerId] });
      client.invalidateQueries({ queryKey: ["customers", "timeline", customerId] });
    },
  });
}
