// app/format_body.ts: what a message shows as HTML. The server's rendering (`html`) when there
// is one; a pending send (no `html` yet) gets a local preview of the same markdown subset
// (`code`, ```blocks```, **bold**, *italic*, ~~strike~~, links); a stored message without
// `html` (stored before the server rendered markup) shows its body as text. Every result goes
// through safe_html.ts (DOMPurify) before it reaches the DOM. The body is HTML-escaped first, so
// the local formatter only ever adds the tags it creates; DOMPurify is the second fence.
import type { Message } from '../sdk';
import { safeHtml, textHtml } from './safe_html';

/** The HTML of a stored message, sanitized. */
export function messageHtml(m: Pick<Message, 'html' | 'body'>): string {
  return m.html ? safeHtml(m.html.trim(), 'message') : safeHtml(`<p>${textHtml(m.body)}</p>`, 'message');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const kUrl = /\bhttps?:\/\/[^\s<]+[^\s<.,:;"')\]!?]/g;

function inline(s: string): string {
  // Split out inline code first so nothing inside it is formatted.
  return s.split(/(`[^`\n]+`)/g).map((part) => {
    if (part.length > 2 && part.startsWith('`') && part.endsWith('`')) return `<code>${part.slice(1, -1)}</code>`;
    return part
      .replace(kUrl, (u) => `<a href="${u}" target="_blank" rel="noopener noreferrer nofollow">${u}</a>`)
      .replace(/\*\*([^*\n]+)\*\*/g, '<strong>$1</strong>')
      .replace(/(^|[\s(])\*([^*\n]+)\*(?=$|[\s).,!?])/g, '$1<em>$2</em>')
      .replace(/~~([^~\n]+)~~/g, '<del>$1</del>');
  }).join('');
}

export function formatBody(body: string): string {
  const escaped = escapeHtml(body);
  const html = escaped.split(/```\n?([\s\S]*?)```/g).map((part, i) =>
    i % 2 === 1 ? `<pre><code>${part.replace(/\n$/, '')}</code></pre>` : inline(part).replace(/\n/g, '<br>'),
  ).join('');
  return safeHtml(html, 'message');
}
