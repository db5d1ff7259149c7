import type pg from "pg";

/** How another thread can open connections of its own to a PostgreSQL server's database. */
export interface DatabaseAddress {
  url: string;
  /** The schema the tables are in (tests give each its own), when not the default one. */
  schema?: string;
}

/** The connection settings of an address: its server, with the schema first on the path. */
export function connectionConfig(address: DatabaseAddress): pg.ClientConfig {
  return {
    connectionString: address.url,
    options: address.schema ? `-c search_path=${address.schema}` : undefined,
  };
}
