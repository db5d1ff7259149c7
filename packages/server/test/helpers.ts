import type { Config } from "../src/config.js";
import { type LedgerOptions, type PatronNode, startNode } from "../src/node.js";
import type { Backend } from "../src/test-support/backends.js";

/** A node on a fresh database, not listening: requests go through Fastify's inject. */
export async function testNode(
  backend: Backend,
  overrides: Partial<Config> = {},
  opts: Omit<LedgerOptions, "schema"> = {},
) {
  const { config, schema, cleanup } = backend.config(overrides);
  const node = await startNode(config, { ...opts, schema, listen: false });
  const ownerKey = node.ownerKey as string;
  return {
    node,
    config,
    ownerKey,
    operatorKey: node.operatorKey as string,
    auth: (key = ownerKey) => ({ authorization: `Bearer ${key}` }),
    async close() {
      await node.close();
      cleanup();
    },
  };
}

export type TestNode = Awaited<ReturnType<typeof testNode>>;

export const size = (node: PatronNode) => node.sequencer.head.size;
