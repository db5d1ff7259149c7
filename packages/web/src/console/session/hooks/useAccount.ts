import { useMutation } from "@tanstack/react-query";
import { z } from "zod";
import { call } from "../../api/client.js";

const Done = z.object({ staffId: z.string(), merchantId: z.string() });

/** Sets the password of an invited staff user with the token of the emailed link. */
export function useAcceptInvitation() {
  return useMutation({
    mutationFn: (input: { token: string; password: string }) =>
      call("POST", "/v1/staff/invitations/accept", Done, { body: input }),
  });
}

/** Sets a new password with the token of a reset link; every session of the account ends. */
export function useConfirmReset() {
  return useMutation({
    mutationFn: (input: { token: string; password: string }) =>
      call("POST", "/v1/staff/password-reset/confirm", Done, { body: input }),
  });
}

/** Asks for a reset link; the node answers the same whether the email has an account. */
export function useRequestReset() {
  return useMutation({
    mutationFn: (email: string) =>
      call("POST", "/v1/staff/password-reset", z.object({ status: z.literal("requested") }), {
        body: { email },
      }),
  });
}
