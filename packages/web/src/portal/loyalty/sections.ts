// The loyalty sections of a merchant's portal, in the order of the sub-navigation. Each is a
// route under /m/:merchant/points (index.tsx).

export interface LoyaltySection {
  /** Below /m/:merchant/points; "" is the overview. */
  path: string;
  /** Its catalogue key. */
  label: string;
  testId: string;
}

export const LOYALTY_SECTIONS: readonly LoyaltySection[] = [
  { path: "", label: "loyalty.nav.overview", testId: "loyalty-nav-overview" },
  { path: "history", label: "loyalty.nav.history", testId: "loyalty-nav-history" },
  { path: "redeem", label: "loyalty.nav.redeem", testId: "loyalty-nav-redeem" },
  { path: "transfer", label: "loyalty.nav.transfer", testId: "loyalty-nav-transfer" },
  { path: "rules", label: "loyalty.nav.rules", testId: "loyalty-nav-rules" },
];
