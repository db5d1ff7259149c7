import { canonicalJson, type JsonValue } from "@patron/ledger";
import type { Sequencer } from "../ledger/sequencer.js";
import { PROGRAMME_SET, type ProgrammeSetPayload } from "./entries.js";
import { applyInput, type ProgrammeInput } from "./programme.js";
import type { LoyaltyState, ProgrammeState } from "./state.js";

/** A programme as the API shows it. */
export interface ProgrammeView {
  merchantId: string;
  programme: ProgrammeState["programme"];
  /** The programme.set entry that set it; null while it is the default. */
  entryIndex: number | null;
  updatedAt: string | null;
}

const view = (merchantId: string, s: ProgrammeState): ProgrammeView => ({
  merchantId,
  programme: s.programme,
  entryIndex: s.entryIndex === null ? null : Number(s.entryIndex),
  updatedAt: s.updatedAt,
});

/** Each merchant's programme: the default until set, then its latest `programme.set`. */
export class Programmes {
  constructor(
    private readonly sequencer: Sequencer,
    private readonly state: LoyaltyState,
  ) {}

  async get(merchantId: string): Promise<ProgrammeView> {
    return view(merchantId, await this.state.programme(merchantId, false));
  }

  /**
   * Changes the fields `input` gives, in one public `programme.set` entry carrying the whole
   * programme; nothing is written when nothing changes. The change is made against the staged
   * programme, so two changes at once both hold.
   */
  async set(
    merchantId: string,
    actor: string,
    input: ProgrammeInput,
  ): Promise<{ view: ProgrammeView; changed: boolean }> {
    const current = await this.state.programme(merchantId, false);
    const same = (a: unknown, b: unknown) =>
      canonicalJson(a as JsonValue) === canonicalJson(b as JsonValue);
    if (same(applyInput(current.programme, input), current.programme)) {
      return { view: view(merchantId, current), changed: false };
    }
    let payload: ProgrammeSetPayload | undefined;
    const [entry] = await this.sequencer.execute({
      entries: [
        {
          type: PROGRAMME_SET,
          actor,
          parties: [{ merchant: merchantId }],
          payload: () => payload as unknown as JsonValue,
        },
      ],
      check: async (ctx) => {
        const staged = await this.state.programme(merchantId);
        const programme = applyInput(staged.programme, input);
        payload = { merchantId, programme };
        this.state.stageProgramme(merchantId, {
          programme,
          entryIndex: ctx.index,
          updatedAt: new Date(ctx.time).toISOString(),
        });
      },
    });
    if (!entry || !payload) throw new Error("a programme change committed no entry");
    return {
      view: {
        merchantId,
        programme: payload.programme,
        entryIndex: Number(entry.index),
        updatedAt: entry.entry.time,
      },
      changed: true,
    };
  }
}
