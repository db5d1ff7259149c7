// The loyalty sections of a merchant's portal, in the order of the sub-navigation. Each is a
// route under /m/:merchant/points (index.tsx). Transfer and redeem (issue 9) take their places
// here when their pages exist: { path: "transfer", label: "loyalty.nav.transfer" } and
// { path: "redeem", label: "loyalty.nav.redeem" }, with their routes beside these in index.tsx.

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
  { path: "rules", label: "loyalty.nav.rules", testId: "loyalty-nav-rules" },
];
