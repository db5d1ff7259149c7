import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Channels } from "../channels/index.js";
import type { Domain, DomainContext } from "../domain.js";
import { merchantOf } from "../domain.js";
import { SYSTEM_ACTOR } from "../tenancy/tenancy.js";
import { staffAuditor } from "./audit.js";
import { StaffEmails } from "./emails.js";
import { Passkeys } from "./passkeys.js";
import { staffRoutes } from "./routes.js";
import {
  STAFF_CREATED,
  STAFF_DISABLED,
  STAFF_ROLE_CHANGED,
  Staff,
  staffProjector,
} from "./staff.js";

/**
 * What the staff domain needs from the node beyond a domain's context: node.ts passes it in the
 * context as `staff`. Without it (a test's own domain list) messages land in the outbox, links
 * are relative and no demo account is made.
 */
export interface StaffSettings {
  channels: Channels;
  /** The node's public address for emailed links; "" makes them relative. */
  publicUrl(): string;
  /** The demo owner's sign-in, made on the first start: where it is saved, under which email. */
  bootstrap?: { dataDir: string; ownerEmail: string };
  log(line: string): void;
}

const settingsOf = (ctx: DomainContext): StaffSettings =>
  (ctx as DomainContext & { staff?: StaffSettings }).staff ?? {
    channels: new Channels(ctx.db, ctx.vault, ctx.clock, { mailFrom: "patron@localhost" }),
    publicUrl: () => "",
    log: () => {},
  };

/**
 * Staff accounts (decision 10): staff users of each merchant with email and password, sessions
 * by cookie, invitations and resets by emailed single-use links, and the outbox where messages
 * land without an SMTP server or SMS gateway. Creating, re-roling and disabling a staff user are
 * sealed entries on the merchant's chain; emails never go on the ledger and rest sealed.
 */
export const staffDomain: Domain = {
  name: "staff",
  entryTypes: [STAFF_CREATED, STAFF_ROLE_CHANGED, STAFF_DISABLED].map((type) => ({
    type,
    sealing: "sealed" as const,
    parties: merchantOf,
  })),
  projectors: [staffProjector],
  audit: staffAuditor,
  start: async (ctx) => {
    const settings = settingsOf(ctx);
    const emails = new StaffEmails(ctx.vault);
    // An install from before emails were sealed: its clear ones are sealed before anything reads.
    const sealed = await emails.sealClearEmails(ctx.db);
    if (sealed > 0) settings.log(`Staff: sealed the ${sealed} staff emails kept in clear before.`);
    const staff = new Staff(
      ctx.db,
      ctx.sequencer,
      ctx.tenancy,
      ctx.clock,
      settings.channels,
      emails,
      { publicUrl: settings.publicUrl, log: settings.log },
    );
    await staff.load();
    if (settings.bootstrap) await bootstrapOwner(ctx, staff, settings.bootstrap, settings.log);
    return {
      routes: (app) =>
        staffRoutes(app, {
          staff,
          passkeys: new Passkeys(ctx.db, ctx.clock, staff),
          tenancy: ctx.tenancy,
          channels: settings.channels,
          publicUrl: settings.publicUrl,
          dataUse: ctx.dataUse,
        }),
    };
  },
};

/**
 * On the first start (no staff user anywhere yet), creates the demo merchant's owner account
 * with a random password, prints the sign-in and saves it beside the owner key (mode 0600).
 */
async function bootstrapOwner(
  ctx: DomainContext,
  staff: Staff,
  opts: { dataDir: string; ownerEmail: string },
  log: (line: string) => void,
) {
  const file = join(opts.dataDir, "owner-login.txt");
  if (!staff.empty) {
    if (existsSync(file)) log(`Console sign-in of the demo owner: in ${file}`);
    return;
  }
  // The first merchant is the demo one: the node's own, before any merchant scope exists.
  const { rows } = await ctx.db.query<{ id: string }>(
    "SELECT id FROM merchants ORDER BY entry_idx LIMIT 1",
  );
  const merchantId = rows[0]?.id;
  if (!merchantId) return;
  const password = randomBytes(18).toString("base64url");
  await staff.createOwner(merchantId, opts.ownerEmail, password, SYSTEM_ACTOR);
  mkdirSync(opts.dataDir, { recursive: true });
  writeFileSync(
    file,
    `Console sign-in of the demo merchant's owner (${merchantId})\nemail: ${opts.ownerEmail}\npassword: ${password}\n`,
    { mode: 0o600 },
  );
  log(`Console sign-in (saved in ${file}): ${opts.ownerEmail} / ${password}`);
}
