import type { JsonValue } from "@patron/ledger";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router";
import { PortalApiError } from "../api/client.js";
import { draftCommand, newKey } from "../keys/signer.js";
import { type Account, type KeyKind, putAccount } from "../keys/store.js";
import { dropSession } from "../session/session.js";
import { useSign } from "../signing/SigningProvider.js";
import { ACCOUNTS_KEY, refOf, submit } from "./hooks.js";

/** key.veto: the current key refuses a recovery staff started, during its time-lock. */
export function useVeto(account: Account | null | undefined) {
  const sign = useSign();
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (recovery: string) => {
      if (!account) throw new Error("this browser holds no key for this merchant");
      const key = refOf(account);
      const command = draftCommand(key, "key.veto", { recovery });
      await submit(await sign({ key, command, merchantName: account.merchantName }));
    },
    onSuccess: () =>
      client.invalidateQueries({ queryKey: ["portal", account?.merchant, "recoveries"] }),
  });
}

/**
 * key.rotate: a new key (the next derived Ed25519 key, or a new passkey) signs key.accept naming
 * the current key, and the current key signs the rotation carrying it. Two signatures, each
 * shown first. The new key is kept as `pending` before the rotation is sent, so an answer lost
 * on the way does not lock the customer out (sign-in promotes it: see usePromotePending).
 */
export function useRotate(account: Account | null | undefined) {
  const sign = useSign();
  const client = useQueryClient();
  const navigate = useNavigate();
  return useMutation({
    mutationFn: async (kind: KeyKind) => {
      if (!account) throw new Error("this browser holds no key for this merchant");
      const generation = account.generation + 1;
      const next = await newKey({
        kind,
        ledger: account.ledger,
        merchant: account.merchant,
        merchantName: account.merchantName,
        generation,
      });
      const old = refOf(account);
      const accept = await sign({
        key: next,
        command: draftCommand(next, "key.accept", { from: old.did }),
        merchantName: account.merchantName,
        step: { n: 1, of: 2 },
      });
      const rotate = await sign({
        key: old,
        command: draftCommand(old, "key.rotate", { accept: accept as unknown as JsonValue }),
        merchantName: account.merchantName,
        step: { n: 2, of: 2 },
      });
      const pending: Account = {
        ...account,
        pending: {
          kind: next.kind,
          did: next.did,
          generation,
          ...(next.credentialId ? { credentialId: next.credentialId } : {}),
        },
      };
      await putAccount(pending);
      try {
        await submit(rotate);
      } catch (err) {
        // Refused: the old key stays. Unreachable: the answer may be lost, so pending stays.
        if (err instanceof PortalApiError && err.status > 0) await putAccount(account);
        throw err;
      }
      const rotated = promote(pending);
      await putAccount(rotated);
      // The page signs in with the new key straight away: no stale copy of the account may stay.
      client.setQueryData([...ACCOUNTS_KEY, account.merchant], rotated);
      navigate(`/m/${account.merchant}`, { state: { rotated: true } });
      dropSession(account.merchant);
      return rotated;
    },
    onSettled: () => client.invalidateQueries({ queryKey: ACCOUNTS_KEY }),
  });
}

/** The account with its pending key made current, the old one kept as retired. */
export function promote(account: Account): Account {
  const next = account.pending;
  if (!next) return account;
  const { pending: _, credentialId: __, ...rest } = account;
  return {
    ...rest,
    kind: next.kind,
    did: next.did,
    // Never lower: a derived key once used is never derived again for this merchant.
    generation: next.generation,
    ...(next.credentialId ? { credentialId: next.credentialId } : {}),
    retired: [...account.retired, account.did],
  };
}
