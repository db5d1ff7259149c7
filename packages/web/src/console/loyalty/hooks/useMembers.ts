import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { call } from "../../api/client.js";
import { Liability, MemberPage } from "../api.js";

/** A page of members (customers given points), the most recently awarded first. */
export function useMembers(cursor: string | undefined) {
  return useQuery({
    queryKey: ["loyalty", "members", cursor ?? ""],
    queryFn: () => call("GET", "/v1/loyalty/members", MemberPage, { query: { limit: 50, cursor } }),
    placeholderData: keepPreviousData,
  });
}

/** The points outstanding at their value, by expiry month. */
export function useLiability() {
  return useQuery({
    queryKey: ["loyalty", "liability"],
    queryFn: () => call("GET", "/v1/loyalty/liability", Liability),
  });
}
