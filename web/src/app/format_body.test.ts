// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { formatBody } from './format_body';

describe('formatBody', () => {
  it('shows markup in a body as text, never as elements', () => {
    const div = document.createElement('div');
    div.innerHTML = formatBody('<img src=x onerror=alert(1)> <script>alert(2)</script>');
    expect(div.querySelector('img, script, [onerror]')).toBeNull();
    expect(div.textContent).toBe('<img src=x onerror=alert(1)> <script>alert(2)</script>');
  });

  it('formats code, bold, italics and links, with safe link attributes only', () => {
    const html = formatBody('**bold** *it* `a<b` see https://example.com/x?a=1&b=2.');
    expect(html).toContain('<strong>bold</strong>');
    expect(html).toContain('<em>it</em>');
    expect(html).toContain('<code>a&lt;b</code>');
    expect(html).toMatch(/<a href="https:\/\/example\.com\/x\?a=1&amp;b=2" target="_blank" rel="noopener noreferrer nofollow">/);
    expect(html.endsWith('</a>.')).toBe(true);
  });

  it('does not turn javascript: text into a link and keeps line breaks', () => {
    const html = formatBody('javascript:alert(1)\nsecond line');
    expect(html).not.toContain('<a');
    expect(html).toContain('<br>');
  });

  it('leaves code blocks unformatted', () => {
    expect(formatBody('```\n**not bold**\n```')).toBe('<pre><code>**not bold**</code></pre>');
  });
});
