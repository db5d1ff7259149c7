import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { z } from "zod";
import { call, setCsrfToken } from "../../api/client.js";
import { Session } from "../../api/schemas.js";
import { assert, create } from "../webauthn.js";
import { SESSION_KEY } from "./useSession.js";

const Passkey = z.object({
  id: z.string(),
  label: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
});

const challenge = async () =>
  (
    await call(
      "POST",
      "/v1/staff/passkeys/challenge",
      z.object({ challenge: z.string(), expiresAt: z.string() }),
    )
  ).challenge;

export function usePasskeys() {
  return useQuery({
    queryKey: ["passkeys"],
    queryFn: () => call("GET", "/v1/staff/passkeys", z.object({ passkeys: z.array(Passkey) })),
  });
}

/**
 * Registers a passkey: the browser makes the key, then proves it holds it by an assertion over
 * a fresh challenge from the node, which keeps only the public key.
 */
export function useRegisterPasskey() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (input: { label: string; session: Session }) => {
      const made = await create({
        challenge: await challenge(),
        staffId: input.session.staff.id,
        email: input.session.staff.email,
        merchant: input.session.merchant.name,
      });
      const fresh = await challenge();
      const proof = await assert(fresh, made.credentialId);
      return call("POST", "/v1/staff/passkeys", Passkey, {
        body: {
          credentialId: made.credentialId,
          publicKey: made.publicKey,
          label: input.label,
          challenge: fresh,
          assertion: proof.assertion,
        },
      });
    },
    onSuccess: () => client.invalidateQueries({ queryKey: ["passkeys"] }),
  });
}

export function useRemovePasskey() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      call(
        "DELETE",
        `/v1/staff/passkeys/${encodeURIComponent(id)}`,
        z.object({ removed: z.literal(true) }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: ["passkeys"] }),
  });
}

/** Signs in with any passkey of this site the browser offers. */
export function usePasskeySignIn() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async () => {
      const fresh = await challenge();
      const proof = await assert(fresh);
      return call("POST", "/v1/staff/passkeys/session", Session, {
        body: { ...proof, challenge: fresh },
      });
    },
    onSuccess: (s) => {
      setCsrfToken(s.csrfToken);
      client.setQueryData(SESSION_KEY, s);
    },
  });
}
