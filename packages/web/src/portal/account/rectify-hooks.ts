import { attachmentCommitment, encodeBase64Url, type JsonValue } from "@patron/ledger";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { draftCommand } from "../keys/signer.js";
import type { Account } from "../keys/store.js";
import { useSign } from "../signing/SigningProvider.js";
import { refOf, sharedLines, submit } from "./hooks.js";

/**
 * customer.update (Art. 16): the customer's key signs a commitment to the new values, which
 * travel beside the command; the dialog lists them before anything is signed (decision 5).
 */
export function useRectify(account: Account | null | undefined) {
  const sign = useSign();
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (values: Record<string, JsonValue>) => {
      if (!account) throw new Error("this browser holds no key for this merchant");
      const key = refOf(account);
      const salt = crypto.getRandomValues(new Uint8Array(16));
      const command = draftCommand(key, "customer.update", {
        attached: attachmentCommitment(salt, values),
      });
      const shown: Record<string, JsonValue> = {};
      for (const [k, v] of Object.entries(values)) {
        shown[k] = v === null ? "—" : Array.isArray(v) ? v.join(", ") || "—" : v;
      }
      const signed = await sign({
        key,
        command,
        merchantName: account.merchantName,
        shared: sharedLines(shown),
      });
      await submit(signed, { salt: encodeBase64Url(salt), values });
    },
    onSuccess: () => client.invalidateQueries({ queryKey: ["portal", account?.merchant] }),
  });
}
