import {
  type Account,
  type Address,
  type Chain,
  type Hash,
  isAddress,
  type PublicClient,
  type Transport,
  type WalletClient,
  zeroAddress,
} from "viem";
import { ledgerAnchorAbi, ledgerAnchorBytecode } from "./generated/LedgerAnchor.js";

export interface DeployLedgerAnchorParams {
  /** The log's anchoring key: the only address that will be allowed to call `anchor`. */
  anchorer: Address;
  /** The log's checkpoint origin line, recorded in the contract. */
  origin: string;
  /** Blocks to wait for after the deployment is mined; default 1 (just mined). */
  confirmations?: number;
}

export interface DeployedLedgerAnchor {
  address: Address;
  txHash: Hash;
  blockNumber: bigint;
  gasUsed: bigint;
}

/**
 * Deploys a LedgerAnchor from the wallet client's account and waits for it to be mined. The
 * deployer pays for the deployment but has no rights over the contract; only `anchorer` does.
 */
export async function deployLedgerAnchor(
  walletClient: WalletClient<Transport, Chain | undefined, Account>,
  publicClient: PublicClient,
  { anchorer, origin, confirmations = 1 }: DeployLedgerAnchorParams,
): Promise<DeployedLedgerAnchor> {
  // The contract cannot be repaired after deployment, and nobody could ever anchor to one whose
  // anchorer is no key at all.
  if (!isAddress(anchorer) || anchorer === zeroAddress) {
    throw new Error(`deployLedgerAnchor: invalid anchorer address ${anchorer}`);
  }
  if (origin === "") throw new Error("deployLedgerAnchor: origin must not be empty");
  const txHash = await walletClient.deployContract({
    abi: ledgerAnchorAbi,
    bytecode: ledgerAnchorBytecode,
    args: [anchorer, origin],
    account: walletClient.account,
    chain: walletClient.chain,
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash: txHash, confirmations });
  if (receipt.status !== "success" || !receipt.contractAddress) {
    throw new Error(`LedgerAnchor deployment ${txHash} failed (status ${receipt.status})`);
  }
  return {
    address: receipt.contractAddress,
    txHash,
    blockNumber: receipt.blockNumber,
    gasUsed: receipt.gasUsed,
  };
}
