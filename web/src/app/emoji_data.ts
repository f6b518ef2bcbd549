// app/emoji_data.ts: emoji for the picker and :shortcode: completion, from the build-time
// module `virtual:parley-emoji` (emoji_plugin.mjs reduces emojibase-data to what we show).
// Imported only by lazy chunks.
import groups from 'virtual:parley-emoji';

export interface EmojiEntry {
  u: string;   // the emoji
  n: string;   // its name
  s: string;   // GitHub shortcode ('' when none)
  t: string;   // search tags, space separated
}

const kGroupInfo: Array<[number, string, string]> = [
  [0, 'Smileys and emotion', '😀'], [1, 'People and body', '👋'], [3, 'Animals and nature', '🐻'],
  [4, 'Food and drink', '🍔'], [5, 'Travel and places', '✈️'], [6, 'Activities', '⚽'],
  [7, 'Objects', '💡'], [8, 'Symbols', '❤️'], [9, 'Flags', '🏁'],
];

const raw = groups as unknown as Array<Array<[string, string, string, string]>>;

export const kEmojiGroups = kGroupInfo.map(([i, name, icon]) => ({
  name, icon, emoji: (raw[i] ?? []).map(([u, n, s, t]) => ({ u, n, s, t })),
}));

const kAll: EmojiEntry[] = kEmojiGroups.flatMap((g) => g.emoji);

/** Emoji matching a query: shortcode prefix first, then name words, then tags. */
export function searchEmoji(query: string, limit = 50): EmojiEntry[] {
  const q = query.trim().toLowerCase().replace(/^:|:$/g, '');
  if (!q) return [];
  const scored: Array<[number, EmojiEntry]> = [];
  for (const e of kAll) {
    let score = -1;
    if (e.s === q) score = 0;
    else if (e.s.startsWith(q)) score = 1;
    else if (e.n.toLowerCase().split(/\s+/).some((w) => w.startsWith(q))) score = 2;
    else if (e.t.split(' ').some((w) => w.startsWith(q))) score = 3;
    if (score >= 0) scored.push([score, e]);
  }
  scored.sort((a, b) => a[0] - b[0]);
  return scored.slice(0, limit).map(([, e]) => e);
}
