// app/preview.tsx: the composer's markdown preview. It renders with formatBody, the formatter the
// timeline uses for a message until the server's rendering arrives (escape, `code`, ```blocks```,
// **bold**, *italic*, ~~strike~~, links, every newline a break, as the server's cmark-gfm with
// hard breaks does; then DOMPurify through safe_html.ts). Known difference: block markup the
// server also renders (lists, quotes, headings, tables) shows here as plain lines.
import { useMemo } from 'preact/hooks';
import { formatBody } from './format_body';

export function MarkdownPreview({ text }: { text: string }) {
  const html = useMemo(() => formatBody(text.replace(/^\s*\n|\s+$/g, '')), [text]);
  return (
    <div class="composer-preview" role="region" aria-label="Preview" data-testid="composer-preview">
      {html ? <div class="msg-body" dangerouslySetInnerHTML={{ __html: html }} /> : <p class="muted">Nothing to preview.</p>}
    </div>
  );
}
