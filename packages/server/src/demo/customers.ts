import type { App } from "../http/app.js";

/**
 * Demo customers for a new node, so the console has something to show: about 500 people with
 * Latin and Chinese names, identities on several channels and 12 months of interactions. They go
 * through the public API with the owner key, exactly as an integration would write them.
 * Every value is made up: reserved example domains, and phone numbers in ranges kept for fiction.
 */

const LATIN_FIRST = [
  "Ana",
  "Lucas",
  "Sofia",
  "Mateo",
  "Emma",
  "Noah",
  "Olivia",
  "Liam",
  "Chloé",
  "Hugo",
  "Léa",
  "Louis",
  "Mia",
  "Elias",
  "Zoé",
  "Jonas",
  "Clara",
  "Finn",
  "Inès",
  "Paul",
  "José",
  "Marta",
  "Nuno",
  "Beatriz",
  "Jörg",
  "Lena",
  "Søren",
  "Ingrid",
  "Tomás",
  "Aoife",
];
const LATIN_LAST = [
  "García",
  "Martin",
  "Müller",
  "Rossi",
  "Silva",
  "Dubois",
  "Schmidt",
  "Fernández",
  "Moreau",
  "Novak",
  "Jensen",
  "O'Brien",
  "Kowalski",
  "Costa",
  "Lefèvre",
  "Weber",
  "Romano",
  "Santos",
  "Nilsson",
  "Byrne",
];
/** Surname, its pinyin; compound surnames included (the search finds them whole). */
const CHINESE_SURNAMES: [string, string][] = [
  ["王", "wang"],
  ["李", "li"],
  ["张", "zhang"],
  ["刘", "liu"],
  ["陈", "chen"],
  ["杨", "yang"],
  ["黄", "huang"],
  ["赵", "zhao"],
  ["周", "zhou"],
  ["吴", "wu"],
  ["欧阳", "ouyang"],
  ["司马", "sima"],
  ["林", "lin"],
  ["郭", "guo"],
];
const CHINESE_GIVEN: [string, string][] = [
  ["伟", "wei"],
  ["芳", "fang"],
  ["娜", "na"],
  ["敏", "min"],
  ["静", "jing"],
  ["丽", "li"],
  ["强", "qiang"],
  ["磊", "lei"],
  ["洋", "yang"],
  ["艳", "yan"],
  ["娜娜", "nana"],
  ["子涵", "zihan"],
  ["浩然", "haoran"],
  ["雨桐", "yutong"],
  ["思远", "siyuan"],
];
const STAGES = ["prospect", "first_purchase", "repeat", "loyal", "at_risk", "lapsed"] as const;
const TAGS = ["vip", "newsletter", "wholesale", "online-only", "gift-buyer", "staff-pick"];
const SUMMARIES: Record<string, string[]> = {
  visit: ["Browsed the new collection", "Tried on two pairs", "Picked up an order"],
  purchase: ["Bought running shoes", "Bought a gift card", "Bought socks and insoles"],
  call: ["Asked about opening hours", "Asked about a delivery", "Asked to change an order"],
  message: ["Asked whether a size is in stock", "Sent a photo of a worn sole", "Thanked the team"],
  email: ["Asked for an invoice", "Replied to the newsletter", "Asked about returns"],
  review: ["Left a five-star review", "Left a review about delivery times"],
};
const CHANNEL_KINDS: [string, string, string][] = [
  ["store", "inbound", "visit"],
  ["store", "inbound", "purchase"],
  ["phone", "inbound", "call"],
  ["chat", "inbound", "message"],
  ["email", "inbound", "email"],
  ["social", "inbound", "review"],
  ["app", "inbound", "purchase"],
  ["web", "inbound", "purchase"],
];

/** A small seeded generator (mulberry32): the same demo every time. */
export function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface DemoCustomer {
  body: Record<string, unknown>;
  interactions: Record<string, unknown>[];
}

/** The demo's people and what they did in the 12 months before `now`. */
export function demoCustomers(count: number, now: number): DemoCustomer[] {
  const r = random(20261207);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)] as T;
  const day = 86_400_000;
  const out: DemoCustomer[] = [];
  for (let i = 0; i < count; i++) {
    const chinese = i % 3 === 1;
    let name: string;
    let handle: string;
    if (chinese) {
      const [sur, surPy] = pick(CHINESE_SURNAMES);
      const [given, givenPy] = pick(CHINESE_GIVEN);
      name = `${sur}${given}`;
      handle = `${surPy}.${givenPy}`;
    } else {
      const first = pick(LATIN_FIRST);
      const last = pick(LATIN_LAST);
      name = `${first} ${last}`;
      // Letters NFD does not take apart (ø, æ, ß…) are spelt out, as people write their
      // address: Søren is soren, not sren.
      handle = `${first}.${last}`
        .normalize("NFD")
        .replace(/\p{M}/gu, "")
        .replace(/[øØ]/g, "o")
        .replace(/[æÆ]/g, "ae")
        .replace(/ß/g, "ss")
        .replace(/[^A-Za-z.]/g, "")
        .toLowerCase();
    }
    const n = String(i).padStart(3, "0");
    const body: Record<string, unknown> = {
      name,
      email: `${handle}${n}@${chinese ? "example.cn" : "example.com"}`,
      // Ofcom's drama range and a fictional block of a Chinese mobile prefix.
      phone: chinese ? `+86 138 0013 8${n}` : `+44 20 7946 0${n}`,
      language: chinese ? "zh-CN" : pick(["en", "fr", "de", "es", "pt"]),
      stage: pick(STAGES),
      tags: r() < 0.4 ? [pick(TAGS)] : [],
      birthday: `${1955 + Math.floor(r() * 50)}-${String(1 + Math.floor(r() * 12)).padStart(2, "0")}-${String(1 + Math.floor(r() * 28)).padStart(2, "0")}`,
    };
    const identities: { type: string; value: string }[] = [];
    if (chinese && r() < 0.8)
      identities.push({ type: "wechat", value: `wx_${handle.replace(".", "_")}${n}` });
    if (!chinese && r() < 0.3) identities.push({ type: "whatsapp", value: body.phone as string });
    if (r() < 0.5) identities.push({ type: "card", value: `LC-${100000 + i}` });
    if (r() < 0.2) identities.push({ type: "instagram", value: `${handle.replace(".", "_")}${n}` });
    if (identities.length > 0) body.identities = identities;
    const interactions: Record<string, unknown>[] = [];
    const visits = 1 + Math.floor(r() * 10);
    for (let k = 0; k < visits; k++) {
      const [channel, direction, kind] = pick(CHANNEL_KINDS);
      const at = now - Math.floor(r() * 365 * day);
      interactions.push({
        channel,
        direction,
        kind,
        occurredAt: new Date(at).toISOString(),
        summary: pick(SUMMARIES[kind] ?? ["Contacted the shop"]),
        ...(kind === "purchase"
          ? { amount: { value: 1000 + Math.floor(r() * 20000), currency: "EUR" } }
          : {}),
      });
    }
    out.push({ body, interactions });
  }
  return out;
}

/**
 * Writes the demo customers through the API. Resolves to how many customers and interactions
 * it wrote, and the customers' ids in the order `demoCustomers` made them; a failure names the
 * request that failed.
 */
export async function seedDemoCustomers(
  app: App,
  key: string,
  now: number,
  count = 500,
): Promise<{ customers: number; interactions: number; ids: string[] }> {
  const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  const people = demoCustomers(count, now);
  const pending: Record<string, unknown>[] = [];
  const all: string[] = [];
  let interactions = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    const batch = pending.splice(0, pending.length);
    const res = await app.inject({
      method: "POST",
      url: "/v1/interactions",
      headers,
      payload: JSON.stringify({ interactions: batch }),
    });
    if (res.statusCode !== 201) throw new Error(`demo interactions: ${res.statusCode} ${res.body}`);
    const failed = (res.json().results as { error?: unknown }[]).filter((x) => x.error);
    if (failed.length > 0) throw new Error(`demo interactions: ${JSON.stringify(failed[0])}`);
    interactions += batch.length;
  };
  // A few at a time, so the sequencer groups them into batches.
  for (let i = 0; i < people.length; i += 25) {
    const slice = people.slice(i, i + 25);
    const ids = await Promise.all(
      slice.map(async (p) => {
        const res = await app.inject({
          method: "POST",
          url: "/v1/customers",
          headers,
          payload: JSON.stringify(p.body),
        });
        if (res.statusCode !== 201) throw new Error(`demo customer: ${res.statusCode} ${res.body}`);
        return res.json().id as string;
      }),
    );
    all.push(...ids);
    slice.forEach((p, k) => {
      for (const x of p.interactions) pending.push({ ...x, customerId: ids[k] });
    });
    if (pending.length >= 500) await flush();
  }
  await flush();
  return { customers: all.length, interactions, ids: all };
}
