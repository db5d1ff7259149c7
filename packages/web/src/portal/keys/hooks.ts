import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ACCOUNTS_KEY } from "../account/hooks.js";
import { BackupError, createBackup, openBackup } from "./backup.js";
import { deriveMerchantKey } from "./derive.js";
import {
  type Account,
  ensureRoot,
  getAccount,
  listAccounts,
  putAccount,
  restoreRoot,
} from "./store.js";

/** Makes the backup file's text: the root secret and the accounts, under the passphrase. */
export function useMakeBackup(onProgress: (fraction: number) => void) {
  return useMutation({
    mutationFn: async (passphrase: string) => {
      const root = await ensureRoot();
      try {
        const accounts = (await listAccounts()).map(({ pending: _, ...a }) => a);
        const file = await createBackup({ root, accounts }, passphrase, { onProgress });
        return { text: `${JSON.stringify(file, null, 2)}\n`, accounts: accounts.length };
      } finally {
        root.fill(0);
      }
    },
  });
}

/**
 * Restores a backup into this browser: its root secret (refused if this browser already holds
 * another with keys of its own) and its accounts, each Ed25519 key checked to derive again.
 */
export function useRestoreBackup(onProgress: (fraction: number) => void) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (input: { text: string; passphrase: string }): Promise<Account[]> => {
      const content = await openBackup(input.text, input.passphrase, { onProgress });
      try {
        for (const a of content.accounts) {
          if (a.kind !== "ed25519") continue;
          const { did, secretKey } = deriveMerchantKey(content.root, a);
          secretKey.fill(0);
          if (did !== a.did) {
            throw new BackupError(
              "bad_parameters",
              `the key for ${a.merchantName} does not derive from this backup's root secret`,
            );
          }
        }
        await restoreRoot(content.root);
      } finally {
        content.root.fill(0);
      }
      const restored: Account[] = [];
      for (const a of content.accounts) {
        // A key this browser already signs with elsewhere is kept (it may be newer than the
        // backup's, after a rotation here).
        const held = await getAccount(a.merchant);
        if (held?.bound && held.did !== a.did) continue;
        await putAccount(a);
        restored.push(a);
      }
      return restored;
    },
    onSettled: () => client.invalidateQueries({ queryKey: ACCOUNTS_KEY }),
  });
}
