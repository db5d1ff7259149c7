import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { startNode } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import { formatMasterKey, masterKeyId, parseMasterKey } from "../src/vault/keystore.js";

const key = () => formatMasterKey(new Uint8Array(randomBytes(32)));

describe.each(backends)("rotating the master key while serving ($name)", (backend) => {
  it("re-wraps every key in the background, then serves with the new key alone", async () => {
    const { config, schema, cleanup } = backend.config();
    const [oldKey, newKey] = [key(), key()];
    const open = (masterKey: string, masterKeyPrevious?: string) =>
      startNode({ ...config, masterKey, masterKeyPrevious }, { schema, listen: false });
    try {
      let node = await open(oldKey);
      const owner = node.ownerKey as string;
      const headers = { authorization: `Bearer ${owner}`, "content-type": "application/json" };
      const ids: string[] = [];
      for (const name of ["Ada Lovelace", "欧阳娜娜", "Grace Hopper"]) {
        const r = await node.app.inject({
          method: "POST",
          url: "/v1/customers",
          headers,
          payload: JSON.stringify({ name }),
        });
        expect(r.statusCode).toBe(201);
        ids.push(r.json().id);
      }
      await node.close();

      // New key, old one beside it: reads work at once, and the keys move over meanwhile.
      node = await open(newKey, oldKey);
      const current = masterKeyId(parseMasterKey(newKey, "test"));
      expect((await node.app.inject({ url: `/v1/customers/${ids[1]}`, headers })).json().name).toBe(
        "欧阳娜娜",
      );
      const left = async () =>
        Number(
          (
            await node.db.query<{ n: string }>(
              `SELECT (SELECT count(*) FROM vault_data_keys WHERE master_key_id <> $1)
                    + (SELECT count(*) FROM vault_index_keys WHERE master_key_id <> $1) AS n`,
              [current],
            )
          ).rows[0]?.n,
        );
      for (let i = 0; i < 600 && (await left()) > 0; i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(await left()).toBe(0);
      await node.close();

      // The old key gone: everything still opens.
      node = await open(newKey);
      for (const [i, name] of ["Ada Lovelace", "欧阳娜娜", "Grace Hopper"].entries()) {
        const r = await node.app.inject({ url: `/v1/customers/${ids[i]}`, headers });
        expect(r.json().name).toBe(name);
      }
      const found = await node.app.inject({ url: "/v1/customers?query=hopper", headers });
      expect(found.json().customers.map((c: { id: string }) => c.id)).toEqual([ids[2]]);
      await node.close();
    } finally {
      cleanup();
    }
  }, 120_000);
});
