// app/completion.ts: the pure part of the composer's completions (completion_list.tsx draws them):
// finding the `:shortcode` or `@name` being typed at the caret, ranking room members for an
// @mention, and replacing the typed token with the chosen completion. Emoji ranking is
// emoji_data.ts's searchEmoji (a lazy chunk). No DOM, no store: unit-tested in
// completion.test.ts.
import type { Id, User } from '../sdk';

export type TriggerKind = 'emoji' | 'mention';

/** The token being completed: text[start, end) is what gets replaced; `query` follows the sigil. */
export interface Trigger {
  kind: TriggerKind;
  query: string;
  start: number;
  end: number;
}

/** `:` needs this many characters after it before emoji are offered (so `:)` or `10:30` do not). */
export const kMinEmojiQuery = 2;

const kEmojiQuery = /^[a-z0-9_+-]*$/i;
const kMentionQuery = /^[a-z0-9_.-]*$/i;

/**
 * The completion trigger that ends at `caret` in `text`, or null. A trigger starts at a `:` or
 * `@` at the start of the text or after whitespace or an opening bracket, and runs to the caret
 * without spaces; it is ignored inside `inline code` or a ```code block```.
 */
export function findTrigger(text: string, caret: number): Trigger | null {
  if (caret < 1 || caret > text.length) return null;
  let i = caret - 1;
  while (i >= 0 && !/[\s:@]/.test(text[i])) i--;
  if (i < 0 || (text[i] !== ':' && text[i] !== '@')) return null;
  const sigil = text[i];
  const before = i > 0 ? text[i - 1] : '';
  if (before !== '' && !/[\s([{"']/.test(before)) return null;
  const query = text.slice(i + 1, caret);
  if (insideCode(text, i)) return null;
  if (sigil === ':') {
    if (query.length < kMinEmojiQuery || !kEmojiQuery.test(query)) return null;
    return { kind: 'emoji', query, start: i, end: caret };
  }
  if (!kMentionQuery.test(query)) return null;
  return { kind: 'mention', query, start: i, end: caret };
}

/**
 * A complete `:shortcode:` just typed (the caret right after its closing colon), so that it can
 * be replaced by its emoji at once; null otherwise. The caller checks the shortcode exists.
 */
export function findClosedShortcode(text: string, caret: number): { code: string; start: number; end: number } | null {
  const m = /(^|[\s([{"'])(:([a-z0-9_+-]{2,}):)$/i.exec(text.slice(0, caret));
  if (!m) return null;
  const start = caret - m[2].length;
  if (insideCode(text, start)) return null;
  return { code: m[3].toLowerCase(), start, end: caret };
}

/** Whether position `at` is inside a ```block``` or a `span` (odd number of fences before it). */
function insideCode(text: string, at: number): boolean {
  const head = text.slice(0, at);
  const blocks = head.split('```');
  if (blocks.length % 2 === 0) return true;
  const line = blocks[blocks.length - 1].split('\n').pop() ?? '';
  return (line.match(/`/g)?.length ?? 0) % 2 === 1;
}

/** One entry of the mention list: a member, or the group-wide @room / @here. */
export interface MentionOption {
  id: string;          // user id, or 'room' / 'here'
  insert: string;      // the text that replaces the trigger, without the trailing space
  label: string;       // display name, or what the special mention does
  detail: string;      // @username, or '@room' / '@here'
}

const kSpecial: MentionOption[] = [
  { id: 'room', insert: '@room', label: 'Everyone in this room', detail: '@room' },
  { id: 'here', insert: '@here', label: 'Everyone online in this room', detail: '@here' },
];

/**
 * Members matching an @query, best first: username prefix, then a word of the display name,
 * then anywhere in either; ties by display name. `me` is left out; @room and @here are offered
 * in groups (the server decides whether you may use them).
 */
export function rankMembers(query: string, members: readonly User[], me: Id | null, group: boolean, limit = 8): MentionOption[] {
  const q = query.toLowerCase();
  const scored: Array<[number, string, MentionOption]> = [];
  for (const u of members) {
    if (u.id === me || u.status === 'deactivated') continue;
    const name = u.display_name || u.username;
    const user = u.username.toLowerCase();
    const words = name.toLowerCase().split(/\s+/);
    let score = -1;
    if (user.startsWith(q)) score = 0;
    else if (words.some((w) => w.startsWith(q))) score = 1;
    else if (user.includes(q) || name.toLowerCase().includes(q)) score = 2;
    if (score >= 0) scored.push([score, name.toLowerCase(), { id: u.id, insert: `@${u.username}`, label: name, detail: `@${u.username}` }]);
  }
  scored.sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1]));
  const out = scored.map(([, , o]) => o);
  if (group) for (const s of kSpecial) if (s.id.startsWith(q)) out.push(s);
  return out.slice(0, limit);
}

/** `text` with the trigger replaced by `insert` and one space, and where the caret goes. */
export function applyCompletion(text: string, t: Trigger, insert: string): { text: string; caret: number } {
  const after = text.slice(t.end);
  const spaced = after.startsWith(' ') ? insert : `${insert} `;
  const next = text.slice(0, t.start) + spaced + after;
  return { text: next, caret: t.start + spaced.length + (after.startsWith(' ') ? 1 : 0) };
}

/** The next highlighted index for a key press in a list of `n` (wraps around). */
export function moveActive(active: number, n: number, key: 'ArrowUp' | 'ArrowDown'): number {
  if (n === 0) return 0;
  return key === 'ArrowDown' ? (active + 1) % n : (active - 1 + n) % n;
}
