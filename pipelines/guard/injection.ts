/**
 * Prompt-injection heuristics (OWASP LLM01). Retrieved chunks are the main way in: anyone who can
 * put a file in a watched folder can write to the model. A regex cannot prove text harmless, so
 * this only flags; the prompt still carries every source as delimited data, and the caller decides
 * whether a flagged chunk is dropped (INJECTION_MODE=exclude) or kept and marked (flag).
 */
export type InjectionReason =
  | "override_instructions"
  | "role_play"
  | "system_prompt"
  | "secret_request"
  | "exfiltration_link"
  | "hidden_text"
  | "chat_markup";

export interface InjectionCheck {
  flagged: boolean;
  reasons: InjectionReason[];
}

const RULES: Array<{ reason: InjectionReason; pattern: RegExp }> = [
  {
    reason: "override_instructions",
    pattern:
      /\b(?:ignore|disregard|forget|override|bypass|skip)\b[^.\n]{0,40}\b(?:previous|prior|above|earlier|preceding|all|any|your|these|those|system)\b[^.\n]{0,30}\b(?:instructions?|prompts?|rules?|directions?|guidelines?|context|messages?)\b/i,
  },
  { reason: "override_instructions", pattern: /\b(?:new|updated|real|actual) instructions?\s*[:-]/i },
  { reason: "override_instructions", pattern: /\binstead,? (?:answer|reply|respond|say|tell (?:the )?users?)\b/i },
  {
    reason: "role_play",
    pattern:
      /\b(?:you are now|from now on,? you|pretend (?:to be|you are)|(?:you (?:must|should|will) )?act as (?:an?|the|my|your) (?:ai|assistant|chatbot|bot|system|admin\w*|developer|hacker|unrestricted|unfiltered|jailbroken)\b|role-?play as|you will (?:now )?(?:act|behave|respond) as|switch to (?:developer|dan|jailbreak) mode|\bDAN\b mode)/i,
  },
  {
    reason: "system_prompt",
    pattern: /\b(?:system prompt|your (?:initial|hidden|original|system|secret) (?:instructions|prompt))\b/i,
  },
  {
    reason: "secret_request",
    pattern:
      /\b(?:reveal|print|show|output|repeat|leak|disclose|tell me|send)\b[^.\n]{0,40}\b(?:api[ _-]?keys?|secrets?|passwords?|credentials?|tokens?|(?:the|your) prompt|environment variables?)\b/i,
  },
  // Markdown or HTML that makes a client fetch an outside URL carrying data in its query string.
  { reason: "exfiltration_link", pattern: /!\[[^\]]*\]\(\s*<?https?:\/\/[^)\s]*\?[^)\s]*\)/i },
  { reason: "exfiltration_link", pattern: /<img\b[^>]*\bsrc\s*=\s*["']?https?:\/\//i },
  {
    reason: "exfiltration_link",
    pattern: /\[[^\]]*\]\(\s*<?https?:\/\/[^)\s]*[?&][^)\s]*(?:\{|%7B|\$|data|q|query|secret|key|token)=/i,
  },
  // Unicode tag characters (invisible ASCII, "ASCII smuggling") and bidi overrides hide text from a
  // human reader but not from a model. Zero-width spaces and joiners alone are common in scraped
  // text and emoji, so they are stripped from prompts (stripHidden) but do not flag.
  { reason: "hidden_text", pattern: /[\u{E0000}-\u{E007F}\u202A-\u202E]/u },
  {
    reason: "hidden_text",
    pattern: /style\s*=\s*["'][^"']*(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0)/i,
  },
  // Chat-template tokens and role headers written into a document to fake a new turn.
  {
    reason: "chat_markup",
    pattern: /<\|(?:im_start|im_end|system|user|assistant|endoftext)\|>|\[\/?INST\]|<<\/?SYS>>/i,
  },
  {
    reason: "chat_markup",
    pattern: /(?:^|\n)\s*(?:#{1,3}\s*)?(?:system|assistant)\s*:\s*(?:you\b|ignore\b|from now\b|new instructions?\b)/i,
  },
];

/** Checks one text; `reasons` lists each rule family that matched, once. */
export function detectInjection(text: string): InjectionCheck {
  const reasons = new Set<InjectionReason>();
  for (const r of RULES) {
    if (!reasons.has(r.reason) && r.pattern.test(text)) {
      reasons.add(r.reason);
    }
  }
  // An HTML comment is invisible when rendered; one that says something instruction-like is hidden
  // text (mdBook's "<!-- ignore -->" markers say nothing and are left alone).
  for (const m of text.matchAll(/<!--([\s\S]*?)-->/g)) {
    if (RULES.some((r) => r.reason !== "hidden_text" && r.pattern.test(m[1]!))) {
      reasons.add("hidden_text");
    }
  }
  return { flagged: reasons.size > 0, reasons: [...reasons] };
}

/** Invisible characters removed: what a reader sees is what the model gets. */
export const stripHidden = (text: string) =>
  text.replace(/[\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\u{E0000}-\u{E007F}]/gu, "");

/**
 * The answer is untrusted output: a model steered by a document can write a Markdown image whose
 * URL carries the conversation to an outside server, fetched as soon as a client renders it.
 * Images become their alt text and links their label; returns what was removed.
 */
export function defangAnswer(text: string): { text: string; removed: number } {
  let removed = 0;
  const out = text
    .replace(/!\[([^\]]*)\]\(\s*<?[a-z][\w+.-]*:[^)]*\)/gi, (_m, alt: string) => {
      removed++;
      return alt;
    })
    .replace(/<img\b[^>]*>/gi, () => {
      removed++;
      return "";
    })
    .replace(/\[([^\]]+)\]\(\s*<?(?:https?|data|javascript):[^)]*\)/gi, (_m, label: string) => {
      removed++;
      return label;
    })
    // A snippet cut mid-image ("![x](https://evil.example/pix…") still names the URL; drop the tail.
    .replace(/!?\[([^\]\n]*)\]\(\s*<?[a-z][\w+.-]*:[^)\s]*…?$/i, (_m, label: string) => {
      removed++;
      return label;
    });
  return { text: out, removed };
}
