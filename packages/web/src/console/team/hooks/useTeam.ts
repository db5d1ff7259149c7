import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { z } from "zod";
import { call } from "../../api/client.js";
import { ApiKey, CreatedKey, OutboxMessage, type Role, StaffUser } from "../../api/schemas.js";

export function useStaffUsers(enabled: boolean) {
  return useQuery({
    queryKey: ["team", "staff"],
    enabled,
    queryFn: () => call("GET", "/v1/staff", z.object({ staff: z.array(StaffUser) })),
  });
}

export function useInviteStaff() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: { email: string; role: Role }) =>
      call(
        "POST",
        "/v1/staff/invitations",
        z.object({ staff: StaffUser, expiresAt: z.string(), delivery: z.string() }),
        { body: input },
      ),
    onSuccess: () => {
      client.invalidateQueries({ queryKey: ["team", "staff"] });
      client.invalidateQueries({ queryKey: ["team", "outbox"] });
    },
  });
}

export function useApiKeys(enabled: boolean) {
  return useQuery({
    queryKey: ["team", "keys"],
    enabled,
    queryFn: () => call("GET", "/v1/api-keys", z.object({ keys: z.array(ApiKey) })),
  });
}

export function useCreateApiKey() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: { label: string; role: Role }) =>
      call("POST", "/v1/api-keys", CreatedKey, { body: input }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["team", "keys"] }),
  });
}

export function useRevokeApiKey() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      call("DELETE", `/v1/api-keys/${encodeURIComponent(id)}`, z.object({ id: z.string() })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["team", "keys"] }),
  });
}

/** Mail and SMS held on the node because no SMTP server or gateway is configured. */
export function useOutbox(enabled: boolean) {
  return useQuery({
    queryKey: ["team", "outbox"],
    enabled,
    queryFn: () =>
      call("GET", "/v1/outbox", z.object({ messages: z.array(OutboxMessage) }), {
        query: { limit: 50 },
      }),
  });
}

const Changed = z.object({ staff: StaffUser, entryIndex: z.number() });

/** A new role for a staff user: an entry on the merchant's chain; open sessions follow at once. */
export function useChangeRole() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: { id: string; role: Role }) =>
      call("PATCH", `/v1/staff/${encodeURIComponent(input.id)}`, Changed, {
        body: { role: input.role },
      }),
    onSettled: () => client.invalidateQueries({ queryKey: ["team", "staff"] }),
  });
}

/** Disables a staff user: their sessions and pending links end. */
export function useDisableStaff() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      call("POST", `/v1/staff/${encodeURIComponent(id)}/disable`, Changed),
    onSettled: () => client.invalidateQueries({ queryKey: ["team", "staff"] }),
  });
}
