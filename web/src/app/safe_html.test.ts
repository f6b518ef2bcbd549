// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { messageHtml } from './format_body';
import { safeHtml } from './safe_html';

/** Parses sanitized output the way the app uses it (innerHTML) and returns the container. */
function dom(html: string): HTMLDivElement {
  const div = document.createElement('div');
  div.innerHTML = html;
  return div;
}

/** Every attribute name left anywhere in the tree. */
function attrs(div: Element): string[] {
  return [...div.querySelectorAll('*')].flatMap((e) => [...e.attributes].map((a) => a.name));
}

describe('safeHtml(message)', () => {
  it('keeps everything the server renders, as rendered', () => {
    const server = '<p>hi <strong>b</strong> <em>i</em> <del>d</del> <code class="language-ts">x</code> ' +
      '<span class="mention" data-user-id="7">@alice</span> <span class="mention" data-mention="room">@room</span></p>' +
      '<blockquote><p>q</p></blockquote><ol start="3"><li>a</li></ol><ul><li>b</li></ul><h2>h</h2><hr>' +
      '<pre><code>c</code></pre><table><thead><tr><th align="center">t</th></tr></thead><tbody><tr><td align="right">1</td></tr></tbody></table>';
    const div = dom(safeHtml(server, 'message'));
    expect(div.querySelector('code.language-ts')?.textContent).toBe('x');
    expect(div.querySelector('span.mention[data-user-id="7"]')?.textContent).toBe('@alice');
    expect(div.querySelector('span.mention[data-mention="room"]')).not.toBeNull();
    expect(div.querySelector('ol')?.getAttribute('start')).toBe('3');
    expect(div.querySelector('th')?.getAttribute('align')).toBe('center');
    for (const tag of ['strong', 'em', 'del', 'blockquote', 'ul', 'h2', 'hr', 'pre', 'table', 'tbody', 'td']) {
      expect(div.querySelector(tag), tag).not.toBeNull();
    }
  });

  it('makes http(s) and mailto links open in a new tab without opener or referrer', () => {
    const div = dom(safeHtml('<a href="https://example.com/x" title="t">x</a> <a href="mailto:a@b.c">m</a>', 'message'));
    const links = [...div.querySelectorAll('a')];
    expect(links.map((a) => a.getAttribute('href'))).toEqual(['https://example.com/x', 'mailto:a@b.c']);
    for (const a of links) {
      expect(a.getAttribute('target')).toBe('_blank');
      expect(a.getAttribute('rel')).toBe('noopener noreferrer nofollow');
    }
  });

  it('drops scripts, event handlers and styles', () => {
    const div = dom(safeHtml('<p onclick="alert(1)" style="color:red">x<script>alert(2)</script>' +
      '<img src=x onerror=alert(3)><iframe src="https://evil.example"></iframe><style>*{}</style>' +
      '<span class="mention" onmouseover="alert(4)">y</span></p>', 'message'));
    expect(div.querySelector('script, img, iframe, style')).toBeNull();
    expect(attrs(div).filter((a) => a.startsWith('on') || a === 'style' || a === 'src')).toEqual([]);
    expect(div.textContent).toBe('xy');
  });

  it('removes javascript:, data:, vbscript: and relative links but keeps their text', () => {
    const hostile = ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', ' javascript:alert(1)', 'java&#x09;script:alert(1)',
      'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==', 'vbscript:msgbox(1)', '/relative', '//evil.example/x',
      'file:///etc/passwd'];
    for (const href of hostile) {
      const div = dom(safeHtml(`<a href="${href}" target="_self">click</a>`, 'message'));
      const a = div.querySelector('a');
      expect(a?.hasAttribute('href'), href).toBe(false);
      expect(a?.hasAttribute('target'), href).toBe(false);
      expect(div.textContent).toBe('click');
    }
  });

  it('defuses svg and math namespace tricks and mutation XSS', () => {
    const cases = [
      '<svg><script>alert(1)</script><a xlink:href="javascript:alert(2)"><text>x</text></a></svg>',
      '<svg onload=alert(1)><animate attributeName=href to=javascript:alert(2)>',
      '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
      '<math><mi xlink:href="javascript:alert(1)">m</mi></math>',
      '<form><math><mtext></form><form><mglyph><svg><mtext><style><path id="</style><img onerror=alert(1) src>">',
      '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
      '<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">',
    ];
    for (const c of cases) {
      const div = dom(safeHtml(c, 'message'));
      expect(div.querySelector('svg, math, script, img, style, form, animate, noscript'), c).toBeNull();
      expect(attrs(div).filter((a) => a.startsWith('on') || a.includes('href') && a !== 'href'), c).toEqual([]);
    }
  });

  it('keeps class, data and layout attributes only with the values the server uses', () => {
    const div = dom(safeHtml('<span class="mention admin" data-user-id="7 onload" data-mention="everyone" data-x="1">a</span>' +
      '<code class="hljs language-js">b</code><p class="mention" align="left">c</p><ol start="-1 x"><li>d</li></ol>' +
      '<td align="justify">e</td><a href="https://x.example" class="mention" data-user-id="1">f</a>', 'message'));
    expect(attrs(div).sort()).toEqual(['href', 'rel', 'target']);
  });

  it('never loads images or other remote resources', () => {
    const div = dom(safeHtml('<img src="https://tracker.example/p.gif"><video src="https://x/v"></video>' +
      '<link rel=stylesheet href="https://x/s.css"><object data="https://x/o"></object><input type=image src="https://x/i">' +
      '<p background="https://x/b.png">t</p><table background="https://x/t.png"><tr><td>u</td></tr></table>', 'message'));
    expect(div.querySelector('img, video, link, object, input')).toBeNull();
    expect(attrs(div)).toEqual([]);
  });
});

describe('safeHtml(snippet)', () => {
  it('keeps <mark> and escaped text, nothing else', () => {
    const div = dom(safeHtml('the <mark>deploy</mark> &lt;b&gt; failed <b>x</b><mark onclick="a()">y</mark><a href="https://x">z</a>', 'snippet'));
    expect([...div.querySelectorAll('mark')].map((m) => m.textContent)).toEqual(['deploy', 'y']);
    expect(div.querySelector('b, a')).toBeNull();
    expect(attrs(div)).toEqual([]);
    expect(div.textContent).toBe('the deploy <b> failed xyz');
  });
});

describe('messageHtml', () => {
  it('uses the server rendering when there is one, sanitized', () => {
    const html = messageHtml({ body: '**hi**', html: '<p><strong>hi</strong><img src=x onerror=alert(1)></p>' });
    expect(html).toBe('<p><strong>hi</strong></p>');
  });

  it('shows a body without server html as text', () => {
    const div = dom(messageHtml({ body: '<b>x</b>\n**y**', html: '' }));
    expect(div.querySelector('b, strong')).toBeNull();
    expect(div.querySelector('br')).not.toBeNull();
    expect(div.textContent).toBe('<b>x</b>**y**');
  });
});
