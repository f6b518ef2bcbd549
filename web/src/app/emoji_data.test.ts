import { describe, expect, it } from 'vitest';
import { kEmojiGroups, searchEmoji } from './emoji_data';

describe('emoji data (emojibase-data, reduced at build time)', () => {
  it('has the categories in order, without skin-tone variants or bare components', () => {
    expect(kEmojiGroups.map((g) => g.name)[0]).toBe('Smileys and emotion');
    expect(kEmojiGroups[0].emoji[0].u).toBe('😀');
    const all = kEmojiGroups.flatMap((g) => g.emoji.map((e) => e.u));
    expect(all.length).toBeGreaterThan(1500);
    expect(all).not.toContain('👋🏽');
    expect(all).not.toContain('🏽');
  });

  it('spells the quick reactions as the picker does', async () => {
    const { kQuickReactions } = await import('./reactions');
    const all = new Set(kEmojiGroups.flatMap((g) => g.emoji.map((e) => e.u)));
    for (const e of kQuickReactions) expect(all.has(e), e).toBe(true);
  });

  it('finds by shortcode first, then by name and tags', () => {
    expect(searchEmoji('tada')[0].u).toBe('🎉');
    expect(searchEmoji(':+1:')[0].u).toBe('\u{1F44D}\u{FE0F}');   // emojibase's spelling, as the server's
    expect(searchEmoji('party').map((e) => e.u)).toContain('🎉');
    expect(searchEmoji('zzzznothing')).toEqual([]);
  });
});
