import { ledgerAnchorAbi } from "@patron/contracts/abi";
import { type Address, BaseError, ContractFunctionZeroDataError, createClient, http } from "viem";
import { getChainId, readContract } from "viem/actions";
import type { AnchorReader } from "./chain.js";

// The LedgerAnchor contract read by JSON-RPC from the page, with viem: eth_chainId, then
// eth_call for origin(), rootAt(size) and latestSize(). Loaded only when a page checks an anchor
// (import() from the hooks), so the rest of the portal and the explorer do not carry viem; and
// with a bare client and the two actions it uses, not every action a public client has.

export function rpcAnchorReader(rpcUrl: string, contract: string): AnchorReader {
  const client = createClient({
    transport: http(rpcUrl, { retryCount: 1, timeout: 10_000 }),
  });
  const address = contract as Address;
  return {
    chainId: () => getChainId(client),
    origin: async () => {
      try {
        return String(
          await readContract(client, { address, abi: ledgerAnchorAbi, functionName: "origin" }),
        );
      } catch (err) {
        // Nothing answers at the address: no contract there (on this chain).
        if (
          err instanceof BaseError &&
          err.walk((e) => e instanceof ContractFunctionZeroDataError)
        ) {
          return undefined;
        }
        throw err;
      }
    },
    latestSize: async () =>
      Number(
        await readContract(client, { address, abi: ledgerAnchorAbi, functionName: "latestSize" }),
      ),
    rootAt: async (size) =>
      String(
        await readContract(client, {
          address,
          abi: ledgerAnchorAbi,
          functionName: "rootAt",
          args: [BigInt(size)],
        }),
      ),
  };
}
