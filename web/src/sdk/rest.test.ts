import { describe, expect, it } from 'vitest';
import { ParleyError } from './errors';
import { RestClient } from './rest';

function fakeFetch(status: number, body: unknown, headers: Record<string, string> = {}) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const f = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return new Response(status === 204 ? null : JSON.stringify(body), { status, headers });
  }) as unknown as typeof fetch;
  return { f, calls };
}

describe('RestClient', () => {
  it('turns problem+json into a ParleyError with the stable code and request id', async () => {
    const { f } = fakeFetch(409, { code: 'conflict', detail: 'username taken', request_id: 'r-1', status: 409 },
                            { 'Content-Type': 'application/problem+json' });
    const err = await new RestClient({ fetch: f }).register({ username: 'a', password: 'x' }).catch((e) => e);
    expect(err).toBeInstanceOf(ParleyError);
    expect(err.code).toBe('conflict');
    expect(err.status).toBe(409);
    expect(err.requestId).toBe('r-1');
    expect(err.message).toBe('username taken');
  });

  it('reads Retry-After on 429 and maps network failures to code network', async () => {
    const { f } = fakeFetch(429, { code: 'rate_limited' }, { 'Retry-After': '3' });
    const err = await new RestClient({ fetch: f }).login({ username: 'a', password: 'b' }).catch((e) => e);
    expect(err.retryAfterMs).toBe(3000);
    expect(err.retryable).toBe(true);
    const down = (async () => { throw new TypeError('Failed to fetch'); }) as unknown as typeof fetch;
    const e2 = await new RestClient({ fetch: down }).me().catch((e) => e);
    expect(e2.code).toBe('network');
  });

  it('sends JSON with a bearer token when given one, and builds cursor queries', async () => {
    const { f, calls } = fakeFetch(200, { messages: [], has_more_before: false, has_more_after: false });
    const rest = new RestClient({ fetch: f, token: 'tok' });
    await rest.history('12', { before: '99', limit: 30 });
    expect(calls[0].url).toBe('/api/v1/rooms/12/messages?before=99&limit=30');
    expect((calls[0].init.headers as Record<string, string>).Authorization).toBe('Bearer tok');
    const { f: f2, calls: c2 } = fakeFetch(201, { message: {}, duplicate: false });
    await new RestClient({ fetch: f2 }).sendMessage('12', { client_txn_id: 't', body: 'hi' });
    expect(c2[0].init.method).toBe('POST');
    expect((c2[0].init.headers as Record<string, string>)['Content-Type']).toBe('application/json');
    expect(JSON.parse(String(c2[0].init.body))).toEqual({ client_txn_id: 't', body: 'hi' });
  });

  it('searches with the query, sort, cursor and time zone, and reports a refused query by its detail', async () => {
    const { f, calls } = fakeFetch(200, { results: [], next: null });
    await new RestClient({ fetch: f }).search({ q: 'from:@bob "a b" c&d', sort: 'recent', cursor: 'x/y', tz_offset: -300 });
    expect(calls[0].url).toBe('/api/v1/search?q=from%3A%40bob+%22a+b%22+c%26d&sort=recent&cursor=x%2Fy&tz_offset=-300');
    const { f: bad } = fakeFetch(400, { code: 'invalid_argument', detail: 'q: unbalanced quote: close the " phrase' });
    const err = await new RestClient({ fetch: bad }).search({ q: '"a' }).catch((e) => e);
    expect(err.code).toBe('invalid_argument');
    expect(err.message).toBe('q: unbalanced quote: close the " phrase');
  });
});
