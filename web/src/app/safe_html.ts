// app/safe_html.ts: the one gate every piece of HTML passes before the client puts it in the
// DOM. Server HTML (a message's `html`, search snippets) and the client's own formatting of an
// optimistic copy (format_body.ts) all go through DOMPurify here, each with an allow-list of
// exactly what its producer emits (docs/protocol.md "Message markup", docs/search.md "Results"):
//
//  - `message`: p br em strong del a code pre blockquote ul ol li h1–h6 hr table thead tbody tr
//    th td span; `href`/`title` on links (http, https and mailto only), `class` only as
//    `language-…` on code and `mention` on span, `data-user-id` (digits) and `data-mention`
//    (room|here) on mention spans, `start` (digits) on ol, `align` on table cells. Every link
//    opens in a new tab with rel="noopener noreferrer nofollow". No images, no media, no style,
//    no forms, no SVG or MathML: nothing that loads a resource or runs code.
//  - `snippet`: text and <mark>, nothing else, no attributes.
//
// Anything else is removed (its text is kept, except inside script/style-like elements, which
// DOMPurify drops whole). The server already refuses to produce anything outside these lists;
// this is the second fence, for a compromised or buggy server and for stored history.
//
// Threading: browser main thread. The DOMPurify instance is private (its hooks never touch the
// default instance other code may use) and created on first use, when a DOM exists.
import createDOMPurify, { type Config, type DOMPurify } from 'dompurify';

export type SafeHtmlKind = 'message' | 'snippet';

const kMessageTags = ['p', 'br', 'em', 'strong', 'del', 'a', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'span'];
const kMessageAttrs = ['href', 'title', 'class', 'data-user-id', 'data-mention', 'start', 'align'];
const kSafeUrl = /^(?:https?:\/\/|mailto:)/i;

const kConfigs: Record<SafeHtmlKind, Config> = {
  message: {
    ALLOWED_TAGS: kMessageTags, ALLOWED_ATTR: kMessageAttrs, ALLOWED_URI_REGEXP: kSafeUrl,
    // Values DOMPurify would otherwise test as URLs; kAttrRules checks each one's value instead.
    ADD_URI_SAFE_ATTR: ['data-user-id', 'data-mention', 'start', 'align'],
    ALLOW_DATA_ATTR: false, ALLOW_ARIA_ATTR: false, ALLOW_UNKNOWN_PROTOCOLS: false,
  },
  snippet: { ALLOWED_TAGS: ['mark'], ALLOWED_ATTR: [], ALLOW_DATA_ATTR: false, ALLOW_ARIA_ATTR: false },
};

/** Which value an attribute may have on which element (message profile); absent: not allowed. */
const kAttrRules: Record<string, (tag: string, value: string) => boolean> = {
  href: (tag, v) => tag === 'a' && kSafeUrl.test(v),
  title: (tag) => tag === 'a',
  class: (tag, v) => (tag === 'code' && /^language-[\w+#.-]{1,40}$/.test(v)) || (tag === 'span' && v === 'mention'),
  'data-user-id': (tag, v) => tag === 'span' && /^\d{1,20}$/.test(v),
  'data-mention': (tag, v) => tag === 'span' && (v === 'room' || v === 'here'),
  start: (tag, v) => tag === 'ol' && /^\d{1,9}$/.test(v),
  align: (tag, v) => (tag === 'th' || tag === 'td') && /^(left|center|right)$/.test(v),
};

let purifier: DOMPurify | null = null;

function instance(): DOMPurify {
  if (purifier) return purifier;
  const p = createDOMPurify(globalThis.window);
  if (!p.isSupported) throw new Error('safe_html: no DOM to sanitize with');
  p.addHook('uponSanitizeAttribute', (node, data) => {
    const rule = kAttrRules[data.attrName];
    if (rule && !rule(node.nodeName.toLowerCase(), data.attrValue)) data.keepAttr = false;
  });
  p.addHook('afterSanitizeAttributes', (node) => {
    if (node.nodeName === 'A') {
      if (node.hasAttribute('href')) {
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer nofollow');
      } else {
        node.removeAttribute('target');
        node.removeAttribute('rel');
      }
    }
  });
  purifier = p;
  return p;
}

/** `html` reduced to what `kind` allows; a string safe to assign to innerHTML. */
export function safeHtml(html: string, kind: SafeHtmlKind): string {
  if (!html) return '';
  return instance().sanitize(html, { ...kConfigs[kind], RETURN_TRUSTED_TYPE: false }) as string;
}

function escapeText(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Plain text as HTML (escaped, newlines as <br>): what a message without server HTML shows. */
export function textHtml(text: string): string {
  return escapeText(text).replace(/\r?\n/g, '<br>');
}
