/**
 * ISO 3166-1 alpha-2: the 249 officially assigned codes (ISO 3166 Maintenance Agency), a set
 * unchanged since South Sudan's SS in 2011.
 * Kept here rather than taken from a library: libphonenumber-js lists only regions with a
 * numbering plan (no AQ, BV, HM, TF...), and Intl names any two letters it is given.
 */
const ASSIGNED = `
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW`
  .trim()
  .split(/\s+/);

/**
 * Beyond the assigned codes, the three a phone number's country can be (libphonenumber and
 * Unicode CLDR use them): Kosovo's user-assigned XK, and Ascension Island (AC) and Tristan da
 * Cunha (TA), reserved for the Universal Postal Union. A customer's country fact comes from
 * their phone when their address has none, so an address may say what a phone already does.
 */
export const PHONE_REGIONS = ["AC", "TA", "XK"] as const;

export const ISO_3166_ALPHA2: ReadonlySet<string> = new Set(ASSIGNED);

const COUNTRIES: ReadonlySet<string> = new Set([...ASSIGNED, ...PHONE_REGIONS]);

/** Whether `code` names a country or territory (upper case, as the API stores it). */
export const isCountryCode = (code: string): boolean => COUNTRIES.has(code);
