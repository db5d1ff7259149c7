import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { call } from "../../api/client.js";
import { type Programme, ProgrammeView } from "../api.js";

export const PROGRAMME_KEY = ["loyalty", "programme"] as const;

export function useProgramme() {
  return useQuery({
    queryKey: PROGRAMME_KEY,
    queryFn: () => call("GET", "/v1/loyalty/programme", ProgrammeView),
  });
}

/** Sets the whole programme: one public programme.set entry, none when nothing changed. */
export function useSetProgramme() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (programme: Programme) =>
      call("PUT", "/v1/loyalty/programme", ProgrammeView, { body: programme }),
    onSuccess: (view) => {
      client.setQueryData(PROGRAMME_KEY, view);
      // The liability's value and the members' point name follow the programme.
      client.invalidateQueries({ queryKey: ["loyalty"] });
    },
  });
}
