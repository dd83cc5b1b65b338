import { isIPv6 } from "node:net";

/** Kinds of personal data the masker knows, each replaced by its typed placeholder (`[EMAIL]`…). */
export type PiiKind = "EMAIL" | "IBAN" | "CARD" | "SSN" | "NATIONAL_ID" | "IP" | "PHONE";

export interface PiiMatch {
  kind: PiiKind;
  start: number;
  end: number;
}

interface Detector {
  kind: PiiKind;
  pattern: RegExp;
  /** Checksums and ranges that a pattern alone cannot express; false leaves the text as it is. */
  valid?: (match: string) => boolean;
  /** The part of the match that is the identifier (trailing words an IBAN pattern swallowed). */
  trim?: (match: string) => string | null;
}

const digits = (s: string) => s.replace(/\D/g, "");

/** The Luhn check every payment card number passes; most 16-digit ids do not. */
export function luhnValid(number: string): boolean {
  const d = digits(number);
  if (d.length < 13 || d.length > 19) {
    return false;
  }
  let sum = 0;
  for (let i = 0; i < d.length; i++) {
    let x = d.charCodeAt(d.length - 1 - i) - 48;
    if (i % 2 === 1) {
      x = x * 2 > 9 ? x * 2 - 9 : x * 2;
    }
    sum += x;
  }
  return sum % 10 === 0;
}

/** ISO 13616 mod-97: the country code and check digits moved to the end, letters as 10..35. */
export function ibanValid(candidate: string): boolean {
  const s = candidate.replace(/\s/g, "").toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(s)) {
    return false;
  }
  const moved = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (const ch of moved) {
    const v = ch >= "A" ? ch.charCodeAt(0) - 55 : ch.charCodeAt(0) - 48;
    rem = v > 9 ? (rem * 100 + v) % 97 : (rem * 10 + v) % 97;
  }
  return rem === 1;
}

// The IBAN pattern may take an uppercase word after the number ("… 5698 7654 32 AND"): try
// the longest prefix of whole groups that passes mod-97.
function trimIban(match: string): string | null {
  const groups = match.split(" ");
  for (let n = groups.length; n >= 1; n--) {
    const c = groups.slice(0, n).join(" ");
    if (ibanValid(c)) {
      return c;
    }
  }
  return null;
}

/**
 * Order matters: an email's digits are not a phone, an IBAN's digits are not a card, a card's
 * digit groups are not a phone; each detector only sees text the earlier ones left unmasked.
 * Digit patterns refuse to start or end inside a longer run of digits, so ids, UUIDs and
 * timestamps are not cut into pieces that happen to look like a phone number.
 */
const DETECTORS: Detector[] = [
  { kind: "EMAIL", pattern: /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b/g },
  {
    kind: "IBAN",
    pattern: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/g,
    trim: trimIban,
  },
  {
    kind: "CARD",
    // 13-19 digits, as one run or in groups separated by single spaces or dashes.
    pattern: /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g,
    valid: luhnValid,
  },
  {
    // US Social Security numbers in their written form 123-45-6789 (or with spaces); area 000,
    // 666 and 900-999, group 00 and serial 0000 are never issued.
    kind: "SSN",
    pattern: /(?<![\d-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])/g,
  },
  {
    // UK National Insurance numbers: written spaced (AB 12 34 56 C), or compact after a cue ("NI
    // number AB123456C"), since compact ones collide with product and compound codes (SR141716A).
    // The prefixes HMRC never issues are excluded.
    kind: "NATIONAL_ID",
    pattern:
      /\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] \d{2} \d{2} \d{2} [A-D]\b|(?<=\b(?:NI|NINO|[Nn]ational [Ii]nsurance)(?: [Nn]umber| [Nn]o\.?)?[:#]? ?)(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]\b/g,
  },
  {
    kind: "IP",
    // Not after "EC ": enzyme numbers (EC 1.14.16.2) have the same shape.
    pattern:
      /(?<![\d.]|EC )(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d]|\.\d)/g,
  },
  {
    kind: "IP",
    pattern: /(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])/g,
    // Times (12:30:45) and MAC addresses fail isIPv6; "::" alone carries no address.
    valid: (m) => isIPv6(m) && /[0-9A-Fa-f]/.test(m),
  },
  {
    // International numbers with a + country code (8-15 digits in all), and North American
    // numbers written with separators: (555) 123-4567, 555-123-4567, 555.123.4567. A bare run of
    // ten digits is not masked: ids and counts look the same.
    kind: "PHONE",
    pattern:
      /(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?![\d-])|(?<![\w(-])(?:\(\d{3}\) ?|\d{3}[.-])\d{3}[.-]\d{4}(?![\d-])/g,
    valid: (m) => !m.startsWith("+") || (digits(m).length >= 8 && digits(m).length <= 15),
  },
];

/** Where personal data is in `text`, in order, non-overlapping. */
export function findPii(text: string): PiiMatch[] {
  const taken: PiiMatch[] = [];
  const free = (s: number, e: number) => taken.every((t) => e <= t.start || s >= t.end);
  for (const d of DETECTORS) {
    for (const m of text.matchAll(d.pattern)) {
      let value = m[0];
      if (d.trim) {
        const t = d.trim(value);
        if (t === null) {
          continue;
        }
        value = t;
      }
      if (d.valid && !d.valid(value)) {
        continue;
      }
      const start = m.index;
      const end = start + value.length;
      if (free(start, end)) {
        taken.push({ kind: d.kind, start, end });
      }
    }
  }
  return taken.sort((a, b) => a.start - b.start);
}

export interface MaskResult {
  text: string;
  /** How many of each kind were masked. */
  counts: Partial<Record<PiiKind, number>>;
  /** The masked spans: `start`/`end` in the original text, `maskedStart`/`maskedEnd` in the result. */
  spans: Array<PiiMatch & { maskedStart: number; maskedEnd: number }>;
}

/** Replaces every match with its placeholder, e.g. "mail a@b.io" → "mail [EMAIL]". */
export function maskPii(text: string): MaskResult {
  const matches = text.length < 6 ? [] : findPii(text);
  if (matches.length === 0) {
    return { text, counts: {}, spans: [] };
  }
  let out = "";
  let at = 0;
  const counts: MaskResult["counts"] = {};
  const spans: MaskResult["spans"] = [];
  for (const m of matches) {
    out += text.slice(at, m.start);
    const placeholder = `[${m.kind}]`;
    spans.push({ ...m, maskedStart: out.length, maskedEnd: out.length + placeholder.length });
    out += placeholder;
    at = m.end;
    counts[m.kind] = (counts[m.kind] ?? 0) + 1;
  }
  return { text: out + text.slice(at), counts, spans };
}

/** `maskPii(text).text`. */
export const maskText = (text: string): string => maskPii(text).text;

/**
 * Masks every string inside plain objects and arrays (depth-limited), leaving keys, numbers and
 * other values alone. `skipKeys` names fields that hold ids or configuration, not user text.
 */
export function maskDeep<T>(value: T, skipKeys: ReadonlySet<string> = new Set(), depth = 6): T {
  if (typeof value === "string") {
    return maskText(value) as T;
  }
  if (depth <= 0 || value === null || typeof value !== "object") {
    return value;
  }
  if (Array.isArray(value)) {
    return value.map((v) => maskDeep(v, skipKeys, depth - 1)) as T;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) {
    return value;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = skipKeys.has(k) ? v : maskDeep(v, skipKeys, depth - 1);
  }
  return out as T;
}

/**
 * Masks a parsed document's text before it is chunked and embedded (PII_MASK_INGEST). Section
 * offsets are moved to the masked text, so chunk offsets refer to the masked text, not the file.
 * A match that straddles a section boundary is masked whole; the boundary moves to its edge.
 */
export function maskParsedText<S extends { text: string; start: number; end: number }>(doc: {
  text: string;
  sections: S[];
}): { text: string; sections: S[]; masked: number } {
  const m = maskPii(doc.text);
  if (m.spans.length === 0) {
    return { text: doc.text, sections: doc.sections, masked: 0 };
  }
  // Original offset → masked offset: shifted by every replacement before it; inside one, to its edge.
  const map = (pos: number, side: "start" | "end") => {
    let shift = 0;
    for (const s of m.spans) {
      if (pos <= s.start) {
        break;
      }
      if (pos < s.end) {
        return side === "start" ? s.maskedStart : s.maskedEnd;
      }
      shift = s.maskedEnd - s.end;
    }
    return pos + shift;
  };
  const sections = doc.sections.map((s) => {
    const start = map(s.start, "start");
    const end = Math.max(start, map(s.end, "end"));
    return { ...s, start, end, text: m.text.slice(start, end) };
  });
  return { text: m.text, sections, masked: m.spans.length };
}
