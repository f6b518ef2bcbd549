// app/search.ts: SearchModel, the state of the search panel (Preact signals): the query the user
// typed, its scope (everywhere, or the room that was open), the sort, and the pages of results
// fetched so far with their cursor. The server owns the query language (docs/search.md): the
// client never checks operators, it sends the text and shows the server's refusal (`detail` of
// the 400) as it is, so operators the server adds later work without a client change.
//
// Scope "this conversation" adds `in:#"name"` (groups) or `in:@username` (DMs) to the query and
// keeps only results from that room id: group names are not unique, and a query that already
// has its own `in:` would otherwise widen the scope. A page that the filter empties is followed
// by the next one, a bounded number of times, so "load more" never shows an empty page.
//
// Responses that arrive after a newer search started are dropped (a generation counter).
// Threading: browser main thread only.
import { signal } from '@preact/signals';
import type { Id, RestClient, SearchResult } from '../sdk';
import { errorText } from './store';

export type SearchSort = 'relevance' | 'recent';

/** What "this conversation" means for the query: the room id and how `in:` names it. */
export interface SearchRoomScope {
  id: Id;
  kind: 'dm' | 'group';
  /** Group name, or the DM partner's username. */
  name: string;
}

export interface SearchState {
  /** The query as sent (with the scope's `in:`). */
  sent: string;
  results: SearchResult[];
  next: string | null;
  loading: boolean;
  error: string | null;
}

const kPageSize = 20;
/** Pages fetched in a row while the room filter leaves nothing to show. */
const kMaxFilteredPages = 5;

/** The query to send for `text` in `scope` (null: everywhere). */
export function scopedQuery(text: string, scope: SearchRoomScope | null): string {
  const q = text.trim();
  // No name known yet, or one with a double quote (not writable as an operator value): the
  // room id filter alone scopes the results.
  if (!scope || !q || !scope.name || scope.name.includes('"')) return q;
  if (scope.kind === 'dm') return `${q} in:@${scope.name}`;
  return `${q} in:#"${scope.name}"`;
}

export class SearchModel {
  readonly open = signal(false);
  readonly text = signal('');
  readonly sort = signal<SearchSort>('relevance');
  /** Scope to this room when set (the room that was open when the user chose "this conversation"). */
  readonly scope = signal<SearchRoomScope | null>(null);
  readonly state = signal<SearchState | null>(null);

  private generation = 0;

  constructor(private readonly rest: RestClient) {}

  /** Starts a new search for the current text, scope and sort (empty text clears the results). */
  async run(): Promise<void> {
    const gen = ++this.generation;
    const scope = this.scope.value;
    const sent = scopedQuery(this.text.value, scope);
    if (!this.text.value.trim()) { this.state.value = null; return; }
    this.state.value = { sent, results: [], next: null, loading: true, error: null };
    await this.fetch(gen, sent, scope, null, []);
  }

  /** The next page of the current search. */
  async more(): Promise<void> {
    const s = this.state.value;
    if (!s || s.loading || !s.next) return;
    const gen = this.generation;
    this.state.value = { ...s, loading: true, error: null };
    await this.fetch(gen, s.sent, this.scope.value, s.next, s.results);
  }

  clear(): void {
    this.generation++;
    this.text.value = '';
    this.state.value = null;
  }

  private async fetch(gen: number, sent: string, scope: SearchRoomScope | null, cursor: string | null,
                      have: SearchResult[]): Promise<void> {
    let results = have;
    let next: string | null = cursor;
    try {
      for (let pages = 0; pages < kMaxFilteredPages; pages++) {
        const page = await this.rest.search({ q: sent, sort: this.sort.value, cursor: next, limit: kPageSize,
                                               tz_offset: -new Date().getTimezoneOffset() });
        if (gen !== this.generation) return;
        const shown = scope ? page.results.filter((r) => r.room.id === scope.id) : page.results;
        results = [...results, ...shown];
        next = page.next;
        if (shown.length > 0 || !next) break;
      }
      this.state.value = { sent, results, next, loading: false, error: null };
    } catch (e) {
      if (gen !== this.generation) return;
      this.state.value = { sent, results, next: cursor, loading: false, error: errorText(e) };
    }
  }
}
