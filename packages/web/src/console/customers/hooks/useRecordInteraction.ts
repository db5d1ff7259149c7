import { useMutation, useQueryClient } from "@tanstack/react-query";
import { z } from "zod";
import { call } from "../../api/client.js";

export const INTERACTION_CHANNELS = [
  "store",
  "phone",
  "email",
  "web",
  "chat",
  "social",
  "app",
] as const;
export const INTERACTION_KINDS = [
  "visit",
  "call",
  "message",
  "email",
  "review",
  "purchase",
  "return",
  "complaint",
  "meeting",
  "other",
] as const;

export interface NewInteraction {
  channel: (typeof INTERACTION_CHANNELS)[number];
  kind: (typeof INTERACTION_KINDS)[number];
  direction: "inbound" | "outbound";
  summary?: string;
  content?: string;
}

/** Records something that happened with the customer; its text goes to the vault. */
export function useRecordInteraction(customerId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: NewInteraction) =>
      call(
        "POST",
        "/v1/interactions",
        z.object({ interactionId: z.string(), customerId: z.string(), entryIndex: z.number() }),
        { body: { ...input, customerId, occurredAt: new Date().toISOString() } },
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: ["customers", "timeline", customerId] }),
  });
}
