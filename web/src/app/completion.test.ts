import { describe, expect, it } from 'vitest';
import type { User } from '../sdk';
import { applyCompletion, findClosedShortcode, findTrigger, moveActive, rankMembers } from './completion';

const at = (text: string) => findTrigger(text, text.length);

function user(id: string, username: string, display_name: string, status: User['status'] = 'active'): User {
  return { id, username, display_name, role: 'user', status, created_at: 0 };
}

describe('findTrigger', () => {
  it('finds :shortcode and @name at the caret', () => {
    expect(at(':sm')).toEqual({ kind: 'emoji', query: 'sm', start: 0, end: 3 });
    expect(at('well done :ta')).toEqual({ kind: 'emoji', query: 'ta', start: 10, end: 13 });
    expect(at('hi @al')).toEqual({ kind: 'mention', query: 'al', start: 3, end: 6 });
    expect(at('@')).toEqual({ kind: 'mention', query: '', start: 0, end: 1 });
    expect(at('(@bo')).toEqual({ kind: 'mention', query: 'bo', start: 1, end: 4 });
    expect(at('ask @mary.j')?.query).toBe('mary.j');
  });

  it('needs two characters after a colon, and none of times, smileys or words', () => {
    expect(at(':s')).toBeNull();
    expect(at('at 10:30')).toBeNull();
    expect(at('ok :)')).toBeNull();
    expect(at('see:this')).toBeNull();
    expect(at('done :tada:')).toBeNull();      // already complete
    expect(at('mail bob@example')).toBeNull(); // an address, not a mention
    expect(at('hi @al ')).toBeNull();          // the caret has moved past it
  });

  it('looks only at the token ending at the caret', () => {
    const text = 'hi @al and more';
    expect(findTrigger(text, 6)).toEqual({ kind: 'mention', query: 'al', start: 3, end: 6 });
    expect(findTrigger(text, text.length)).toBeNull();
    expect(findTrigger(text, 0)).toBeNull();
  });

  it('ignores code', () => {
    expect(at('`x :sm')).toBeNull();
    expect(at('```\nconst a = @de')).toBeNull();
    expect(at('`code` :sm')?.kind).toBe('emoji');
    expect(at('```\nx\n``` @bo')?.kind).toBe('mention');
  });
});

describe('findClosedShortcode', () => {
  it('finds a :shortcode: whose closing colon was just typed', () => {
    expect(findClosedShortcode('yay :tada:', 10)).toEqual({ code: 'tada', start: 4, end: 10 });
    expect(findClosedShortcode(':+1:', 4)).toEqual({ code: '+1', start: 0, end: 4 });
    expect(findClosedShortcode('at 10:30:', 9)).toBeNull();
    expect(findClosedShortcode('yay :tada: ', 11)).toBeNull();
    expect(findClosedShortcode('`:tada:', 7)).toBeNull();
  });
});

describe('rankMembers', () => {
  const members = [
    user('1', 'alice', 'Alice Liddell'), user('2', 'bob', 'Bob Builder'), user('3', 'carol', 'Carol Danvers'),
    user('4', 'albert', 'Albert Hall'), user('5', 'xander', 'Bobby Tables'), user('6', 'gone', 'Bob Gone', 'deactivated'),
  ];

  it('puts username prefixes first, then name words, then substrings', () => {
    expect(rankMembers('bo', members, null, false).map((o) => o.id)).toEqual(['2', '5']);
    expect(rankMembers('al', members, null, false).map((o) => o.id)).toEqual(['4', '1']);
    expect(rankMembers('dan', members, null, false).map((o) => o.id)).toEqual(['3']);
    expect(rankMembers('ll', members, null, false).map((o) => o.id)).toEqual(['4', '1']);
  });

  it('leaves out yourself and deactivated users; inserts @username', () => {
    const r = rankMembers('', members, '1', false);
    expect(r.map((o) => o.id)).not.toContain('1');
    expect(r.map((o) => o.id)).not.toContain('6');
    expect(rankMembers('bob', members, null, false)[0]).toEqual({ id: '2', insert: '@bob', label: 'Bob Builder', detail: '@bob' });
  });

  it('offers @room and @here in groups only', () => {
    expect(rankMembers('roo', members, null, true).map((o) => o.id)).toEqual(['room']);
    expect(rankMembers('he', members, null, true).map((o) => o.insert)).toEqual(['@here']);
    expect(rankMembers('roo', members, null, false)).toEqual([]);
  });

  it('keeps to the limit', () => {
    expect(rankMembers('', members, null, true, 3)).toHaveLength(3);
  });
});

describe('applyCompletion', () => {
  it('replaces the token and adds one space', () => {
    const text = 'party :ta';
    expect(applyCompletion(text, at(text)!, '🎉')).toEqual({ text: 'party 🎉 ', caret: 'party 🎉 '.length });
  });

  it('keeps the text after the caret and does not double a space', () => {
    const text = 'hi @bo how are you';
    const t = findTrigger(text, 6)!;
    expect(applyCompletion(text, t, '@bob')).toEqual({ text: 'hi @bob how are you', caret: 'hi @bob '.length });
    const t2 = findTrigger('hi @bo!', 6)!;
    expect(applyCompletion('hi @bo!', t2, '@bob')).toEqual({ text: 'hi @bob !', caret: 'hi @bob '.length });
  });
});

describe('moveActive', () => {
  it('wraps around', () => {
    expect(moveActive(0, 3, 'ArrowDown')).toBe(1);
    expect(moveActive(2, 3, 'ArrowDown')).toBe(0);
    expect(moveActive(0, 3, 'ArrowUp')).toBe(2);
    expect(moveActive(0, 0, 'ArrowUp')).toBe(0);
  });
});
