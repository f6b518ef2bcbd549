import { describe, expect, it } from 'vitest';
import type { RestClient, SearchPage, SearchQuery, SearchResult } from '../sdk';
import { ParleyError } from '../sdk';
import { scopedQuery, SearchModel } from './search';

function hit(id: string, room: string): SearchResult {
  return { message: { id, room_id: room } as SearchResult['message'], room: { id: room, kind: 'group', name: 'x' }, snippet: id };
}

/** A RestClient whose search answers from a list of pages, recording the queries. */
function fakeRest(pages: Array<SearchPage | Error>) {
  const calls: SearchQuery[] = [];
  const rest = { search: async (q: SearchQuery) => { calls.push(q); const p = pages.shift()!; if (p instanceof Error) throw p; return p; } };
  return { rest: rest as unknown as RestClient, calls };
}

describe('scopedQuery', () => {
  it('adds in: for the scoped room, quoting group names', () => {
    expect(scopedQuery(' deploy ', null)).toBe('deploy');
    expect(scopedQuery('deploy', { id: '1', kind: 'group', name: 'big team' })).toBe('deploy in:#"big team"');
    expect(scopedQuery('deploy', { id: '1', kind: 'dm', name: 'bob' })).toBe('deploy in:@bob');
  });

  it('leaves the query alone when the name cannot be written (the id filter scopes it)', () => {
    expect(scopedQuery('deploy', { id: '1', kind: 'group', name: 'say "hi"' })).toBe('deploy');
    expect(scopedQuery('deploy', { id: '1', kind: 'dm', name: '' })).toBe('deploy');
    expect(scopedQuery('', { id: '1', kind: 'dm', name: 'bob' })).toBe('');
  });
});

describe('SearchModel', () => {
  it('pages by cursor with the same sort', async () => {
    const { rest, calls } = fakeRest([{ results: [hit('1', 'r')], next: 'c1' }, { results: [hit('2', 'r')], next: null }]);
    const s = new SearchModel(rest);
    s.text.value = 'deploy';
    s.sort.value = 'recent';
    await s.run();
    expect(s.state.value?.results.map((r) => r.message.id)).toEqual(['1']);
    await s.more();
    expect(s.state.value?.results.map((r) => r.message.id)).toEqual(['1', '2']);
    expect(s.state.value?.next).toBeNull();
    expect(calls.map((c) => [c.q, c.sort, c.cursor])).toEqual([['deploy', 'recent', null], ['deploy', 'recent', 'c1']]);
    expect(typeof calls[0].tz_offset).toBe('number');
  });

  it('keeps only the scoped room and fetches on while a page filters to nothing', async () => {
    const { rest, calls } = fakeRest([
      { results: [hit('1', 'other')], next: 'c1' },
      { results: [hit('2', 'other'), hit('3', 'mine')], next: 'c2' },
    ]);
    const s = new SearchModel(rest);
    s.text.value = 'plan';
    s.scope.value = { id: 'mine', kind: 'group', name: 'ops' };
    await s.run();
    expect(calls.map((c) => c.q)).toEqual(['plan in:#"ops"', 'plan in:#"ops"']);
    expect(s.state.value?.results.map((r) => r.message.id)).toEqual(['3']);
    expect(s.state.value?.next).toBe('c2');
  });

  it('shows the server\'s reason for a refused query, and drops answers to an older search', async () => {
    const { rest } = fakeRest([new ParleyError('invalid_argument', 'q: unknown operator "form:"')]);
    const s = new SearchModel(rest);
    s.text.value = 'form:@a';
    await s.run();
    expect(s.state.value?.error).toBe('q: unknown operator "form:"');

    let release: (p: SearchPage) => void = () => {};
    const slow = { search: () => new Promise<SearchPage>((r) => { release = r; }) } as unknown as RestClient;
    const t = new SearchModel(slow);
    t.text.value = 'old';
    const first = t.run();
    t.clear();
    release({ results: [hit('1', 'r')], next: null });
    await first;
    expect(t.state.value).toBeNull();
  });
});
