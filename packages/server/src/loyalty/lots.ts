/**
 * A customer's points are lots: each award, transfer received or credit is one, with the
 * instant it becomes available and the instant it expires (null: never). Every way of spending
 * points (a redemption, a transfer sent, a debit, a reversal beyond the order's own lot) takes
 * them from the lots available at that time in order of expiry, the soonest first, and among
 * lots that expire alike (or never) the oldest first, so no customer loses points to an expiry
 * they could have spent first.
 */
export interface WalletLot {
  /** The index of the entry that made the lot. */
  lot: bigint;
  remaining: number;
  availableAt: number;
  /** ms since the epoch; null: it does not expire. */
  expiresAt: number | null;
  /**
   * Its own expiry (`expiry` rules or the programme's `fixed` policy), which `inactivity`
   * renewals never push past; absent: the same as `expiresAt`.
   */
  fixedExpiresAt?: number | null;
}

/** A customer's lots with points left, oldest first, and their debt. */
export interface Wallet {
  lots: readonly WalletLot[];
  debt: number;
}

/**
 * A customer's lots with points left, in index order, as a wallet: the auditors keep lots by
 * the index of the entry that made them.
 */
export function walletOfLots(
  lots: ReadonlyMap<bigint, Omit<WalletLot, "lot">>,
  debt: number,
): Wallet {
  return {
    lots: [...lots.entries()]
      .filter(([, l]) => l.remaining > 0)
      .sort(([x], [y]) => (x < y ? -1 : 1))
      .map(([lot, l]) => ({
        lot,
        remaining: l.remaining,
        availableAt: l.availableAt,
        expiresAt: l.expiresAt,
        ...(l.fixedExpiresAt === undefined ? {} : { fixedExpiresAt: l.fixedExpiresAt }),
      })),
    debt,
  };
}

/**
 * Points coming in as a new lot (a staff credit, points received; awards do the same in
 * orders.ts): they repay the customer's debt first, and the rest is the lot (none when the debt
 * takes them all). Returns the wallet after and the debt repaid.
 */
export function addLot(wallet: Wallet, lot: WalletLot): { wallet: Wallet; debtRepaid: number } {
  const debtRepaid = Math.min(wallet.debt, lot.remaining);
  const remaining = lot.remaining - debtRepaid;
  return {
    debtRepaid,
    wallet: {
      lots: remaining > 0 ? [...wallet.lots, { ...lot, remaining }] : wallet.lots,
      debt: wallet.debt - debtRepaid,
    },
  };
}

/** Points taken from one lot. */
export interface Take {
  lot: number;
  points: number;
}

/** Whether a lot's points can be spent at `now`: available and not expired. */
export const spendable = (l: WalletLot, now: number): boolean =>
  l.availableAt <= now && (l.expiresAt === null || l.expiresAt > now);

/** The points that can be spent at `now`. */
export const availablePoints = (w: Wallet, now: number): number =>
  w.lots.reduce((sum, l) => (spendable(l, now) ? sum + l.remaining : sum), 0);

/** The order lots are spent in: soonest expiry first (never last), then the oldest. */
export function spendingOrder(lots: readonly WalletLot[]): WalletLot[] {
  return [...lots].sort((a, b) => {
    const ea = a.expiresAt ?? Number.POSITIVE_INFINITY;
    const eb = b.expiresAt ?? Number.POSITIVE_INFINITY;
    if (ea !== eb) return ea < eb ? -1 : 1;
    return a.lot < b.lot ? -1 : a.lot > b.lot ? 1 : 0;
  });
}

/**
 * Takes up to `points` from the lots spendable at `now`, in spending order. Returns what was
 * taken, the points it could not find (`short`) and the wallet after; the caller decides whether
 * a shortfall refuses the command (a redemption, a transfer) or becomes a debt (a reversal).
 */
export function takePoints(
  wallet: Wallet,
  points: number,
  now: number,
  first?: bigint,
): { taken: Take[]; short: number; wallet: Wallet } {
  const lots = wallet.lots.map((l) => ({ ...l }));
  const taken: Take[] = [];
  let left = points;
  const take = (l: WalletLot & { remaining: number }) => {
    const n = Math.min(l.remaining, left);
    if (n <= 0) return;
    l.remaining -= n;
    left -= n;
    taken.push({ lot: Number(l.lot), points: n });
  };
  // A reversal takes from its own order's lot first, whether or not it is available yet.
  const own = first === undefined ? undefined : lots.find((l) => l.lot === first);
  if (own) take(own);
  for (const l of spendingOrder(lots)) {
    if (left === 0) break;
    const mine = lots.find((x) => x.lot === l.lot);
    if (mine && mine !== own && spendable(mine, now)) take(mine);
  }
  return {
    taken,
    short: left,
    wallet: { lots: lots.filter((l) => l.remaining > 0), debt: wallet.debt },
  };
}
