import { attachmentCommitment, encodeBase64Url, type JsonValue } from "@patron/ledger";
import { type QueryClient, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { pointNameFor } from "../../lib/point-name.js";
import { refOf, submit } from "../account/hooks.js";
import { call } from "../api/client.js";
import { draftCommand } from "../keys/signer.js";
import type { Account } from "../keys/store.js";
import { signedIn } from "../session/hooks.js";
import { useSession } from "../session/session.js";
import { useSign } from "../signing/SigningProvider.js";
import type { Points } from "./schemas.js";
import { Redemptions, Rewards, TransferPage } from "./schemas.js";

// Points that move: transfers to another customer and redemptions (a discount at the till or a
// reward of the catalogue). Each is a command the customer's own key signs (decision 5), shown
// in the signing dialog first; reads are the customer's own, with their session.

/** How often the redemptions are read again while a hold is open, to see the till capture it. */
export const HELD_POLL_MS = 3_000;

/**
 * The programme's name for its points, as the customer's points last read say it (the pages
 * that move points show them first), for the signing dialog's words; none when not read yet.
 */
function pointNameOf(client: QueryClient, merchant: string): { pointName?: string } {
  for (const [, data] of client.getQueriesData<Points>({
    queryKey: ["portal", merchant, "points"],
  })) {
    if (data?.pointName) return { pointName: data.pointName };
  }
  return {};
}

/** The customer's transfers, sent and received, newest first, with their messages. */
export function useTransfers(merchant: string) {
  const session = useSession(merchant);
  return useQuery({
    queryKey: ["portal", merchant, "transfers", session?.sessionId],
    enabled: session !== null,
    queryFn: () =>
      signedIn(merchant, (token) =>
        call("GET", "/v1/portal/transfers?limit=100", TransferPage, { token }),
      ),
  });
}

/** The merchant's active rewards. */
export function useRewards(merchant: string) {
  const session = useSession(merchant);
  return useQuery({
    queryKey: ["portal", merchant, "rewards", session?.sessionId],
    enabled: session !== null,
    queryFn: () =>
      signedIn(merchant, (token) => call("GET", "/v1/portal/rewards", Rewards, { token })),
  });
}

/** The customer's redemptions, newest first; read again every few seconds while one is held. */
export function useRedemptions(merchant: string) {
  const session = useSession(merchant);
  return useQuery({
    queryKey: ["portal", merchant, "redemptions", session?.sessionId],
    enabled: session !== null,
    queryFn: () =>
      signedIn(merchant, (token) =>
        call("GET", "/v1/portal/redemptions?limit=100", Redemptions, { token }),
      ),
    refetchInterval: (q) =>
      q.state.data?.redemptions.some((r) => r.status === "held") ? HELD_POLL_MS : false,
  });
}

/** What a transfer sends: `to` a customer id, whole points, and an optional message. */
export interface TransferInput {
  to: string;
  points: number;
  message: string;
}

/**
 * `points.transfer`: the payload is exactly `{to, points}`; a message travels beside the command
 * (sealed by the node under each side's key), the payload carrying only its commitment.
 */
export function useTransfer(account: Account | null | undefined) {
  const sign = useSign();
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (input: TransferInput) => {
      if (!account) throw new Error("this browser holds no key for this merchant");
      const key = refOf(account);
      const message = input.message.trim();
      const values: Record<string, JsonValue> | undefined = message ? { message } : undefined;
      const salt = crypto.getRandomValues(new Uint8Array(16));
      const payload: Record<string, JsonValue> = { to: input.to, points: input.points };
      if (values) payload.attached = attachmentCommitment(salt, values);
      const command = draftCommand(key, "points.transfer", payload);
      const signed = await sign({
        key,
        command,
        merchantName: account.merchantName,
        ...pointNameOf(client, account.merchant),
        ...(values ? { shared: { message } } : {}),
      });
      return submit(signed, values ? { salt: encodeBase64Url(salt), values } : undefined);
    },
    onSettled: () => client.invalidateQueries({ queryKey: ["portal", account?.merchant] }),
  });
}

/** What a hold redeems: a discount of N points, or a reward (its name and cost for the words). */
export type HoldInput =
  | { points: number }
  | { reward: { id: string; name: string; points: number }; pointName: string };

/**
 * `redemption.hold`, signed by the customer: points come off the balance at once and a one-time
 * code for the till is made. Answers the index of the `redemption.held` entry.
 */
export function useHold(account: Account | null | undefined) {
  const { i18n } = useTranslation();
  const sign = useSign();
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (input: HoldInput): Promise<number | undefined> => {
      if (!account) throw new Error("this browser holds no key for this merchant");
      const key = refOf(account);
      const payload: Record<string, JsonValue> =
        "points" in input ? { points: input.points } : { rewardId: input.reward.id };
      const names =
        "reward" in input
          ? {
              [input.reward.id]: input.reward.name,
              [`${input.reward.id}#points`]: `${input.reward.points.toLocaleString()} ${pointNameFor(input.pointName, input.reward.points, i18n.language)}`,
            }
          : undefined;
      const signed = await sign({
        key,
        command: draftCommand(key, "redemption.hold", payload),
        merchantName: account.merchantName,
        ...pointNameOf(client, account.merchant),
        ...(names ? { names } : {}),
      });
      const done = await submit(signed);
      return done.entries.find((e) => e.type === "redemption.held")?.index;
    },
    onSettled: () => client.invalidateQueries({ queryKey: ["portal", account?.merchant] }),
  });
}

/** `redemption.release`: the customer gives a hold of their own back; its points return. */
export function useRelease(account: Account | null | undefined) {
  const sign = useSign();
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (input: { id: string; code: string | null }) => {
      if (!account) throw new Error("this browser holds no key for this merchant");
      const key = refOf(account);
      const signed = await sign({
        key,
        command: draftCommand(key, "redemption.release", { redemptionId: input.id }),
        merchantName: account.merchantName,
        ...(input.code ? { names: { [input.id]: input.code } } : {}),
      });
      return submit(signed);
    },
    onSettled: () => client.invalidateQueries({ queryKey: ["portal", account?.merchant] }),
  });
}
