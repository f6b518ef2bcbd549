// emoji_plugin.mjs: a Vite plugin providing the virtual module `virtual:parley-emoji`: the
// emoji of the npm package emojibase-data (fully qualified, as the server's table spells them; English labels, GitHub shortcodes, the server's
// shortcode source too), reduced at build time to [unicode, name, shortcode, tags] per emoji
// and grouped by category, so the picker's lazy chunk carries only what it shows. Skin tone
// variants and the "component" group (bare skin tones, hair) are left out.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const kId = 'virtual:parley-emoji';
const kResolved = '\0' + kId;

export function parleyEmoji() {
  return {
    name: 'parley-emoji',
    resolveId(id) { return id === kId ? kResolved : null; },
    load(id) {
      if (id !== kResolved) return null;
      const require = createRequire(import.meta.url);
      const read = (p) => JSON.parse(readFileSync(require.resolve(p), 'utf8'));
      const data = read('emojibase-data/en/data.json');
      const github = read('emojibase-data/en/shortcodes/github.json');
      const groups = Array.from({ length: 10 }, () => []);
      for (const e of data.sort((a, b) => (a.order ?? 0) - (b.order ?? 0))) {
        if (e.group === undefined || e.group === 2) continue;
        const codes = github[e.hexcode];
        const shortcode = Array.isArray(codes) ? codes[0] : codes ?? '';
        groups[e.group].push([e.emoji, e.label, shortcode, (e.tags ?? []).join(' ')]);
      }
      return `export default ${JSON.stringify(groups)};`;
    },
  };
}
