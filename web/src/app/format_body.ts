// app/format_body.ts: turns a message body (plain text with a little markdown: `code`,
// ```blocks```, **bold**, *italic*, links) into HTML, sanitized by DOMPurify with a short
// allow-list before it reaches the DOM. The body is HTML-escaped first, so the formatter only
// ever adds the tags it creates; DOMPurify is the second fence.
import DOMPurify from 'dompurify';

const kAllowedTags = ['a', 'b', 'strong', 'em', 'i', 'code', 'pre', 'br', 'del'];
const kAllowedAttrs = ['href', 'rel', 'target'];

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
  return sanitize(html);
}

export function sanitize(html: string): string {
  return DOMPurify.sanitize(html, { ALLOWED_TAGS: kAllowedTags, ALLOWED_ATTR: kAllowedAttrs });
}
