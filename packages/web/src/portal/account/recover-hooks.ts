import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router";
import { call, PortalApiError } from "../api/client.js";
import { Health } from "../api/schemas.js";
import { newKey } from "../keys/signer.js";
import { type Account, getAccount, type KeyKind, putAccount } from "../keys/store.js";
import { useSignIn } from "../session/hooks.js";
import { ACCOUNTS_KEY } from "./hooks.js";

/**
 * A replacement key for a merchant whose key this customer lost (issue 8, recovery): made here,
 * kept as `recovering` until the node binds it. Staff start the recovery with it after their
 * identity checks; the time-lock runs, the old key may refuse, and then this key signs in.
 * Never the generation of a key this browser used before for the merchant.
 */
export function useNewRecoveryKey(merchant: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (vars: { kind: KeyKind; merchantName: string }) => {
      const held = await getAccount(merchant);
      if (held?.bound) {
        throw new PortalApiError(409, "already_joined", "this browser already has a key here");
      }
      const ledger = (await call("GET", "/health", Health)).origin;
      const generation = held ? held.generation + 1 : 0;
      const key = await newKey({ ...vars, ledger, merchant, generation });
      const account: Account = {
        ...key,
        merchant,
        merchantName: vars.merchantName,
        bound: false,
        recovering: true,
        createdAt: new Date().toISOString(),
        retired: held ? [...held.retired, held.did] : [],
      };
      await putAccount(account);
      client.setQueryData([...ACCOUNTS_KEY, merchant], account);
      return account;
    },
    onSettled: () => client.invalidateQueries({ queryKey: ACCOUNTS_KEY }),
  });
}

/**
 * Signs in with the recovering key: the node accepts it once the recovery completed, and the
 * account is bound from then on. Before that the node answers `unknown_actor`: not yet.
 */
export function useFinishRecovery(account: Account) {
  const signIn = useSignIn(account);
  const client = useQueryClient();
  const navigate = useNavigate();
  return useMutation({
    mutationFn: async () => {
      const opened = await signIn.mutateAsync();
      const { recovering: _, ...rest } = account;
      const bound: Account = { ...rest, bound: true, customerId: opened.customerId };
      await putAccount(bound);
      // To the merchant's pages before the account reads as bound, which ends the waiting page.
      navigate(`/m/${account.merchant}`);
      client.setQueryData([...ACCOUNTS_KEY, account.merchant], bound);
      return bound;
    },
    onSettled: () => client.invalidateQueries({ queryKey: ACCOUNTS_KEY }),
  });
}

/** The node's answer before the recovery has bound the key. */
export const notYet = (err: unknown) =>
  err instanceof PortalApiError && err.code === "unknown_actor";
