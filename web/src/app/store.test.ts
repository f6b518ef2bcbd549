import { describe, expect, it } from 'vitest';
import type { Message, User } from '../sdk';
import { mentionsUser } from './store';

const me: User = { id: 'u1', username: 'ann.lee', display_name: 'Ann', role: 'user', status: 'active', created_at: 0 };
function msg(body: string, extra: Record<string, unknown> = {}): Message {
  return { id: 'm', room_id: 'r', seq: 1, sender_id: 'u2', client_txn_id: null, body, reply_to: null,
           created_at: 0, edited_at: null, deleted_at: null, ...extra } as Message;
}

describe('mentionsUser', () => {
  it('uses the server mentions list when the message has one', () => {
    expect(mentionsUser(msg('hi', { mentions: ['u1'] }), me)).toBe(true);
    expect(mentionsUser(msg('@ann.lee', { mentions: [] }), me)).toBe(false);
    expect(mentionsUser(msg('hi', { mentions: [{ user_id: 'u1' }] }), me)).toBe(true);
  });

  it('otherwise finds @username as a whole word, case-insensitively', () => {
    expect(mentionsUser(msg('@ann.lee can you look?'), me)).toBe(true);
    expect(mentionsUser(msg('ping @Ann.Lee.'), me)).toBe(true);
    expect(mentionsUser(msg('@ann.leex'), me)).toBe(false);
    expect(mentionsUser(msg('mail ann.lee@example.com'), me)).toBe(false);
    expect(mentionsUser(msg('@annXlee'), me)).toBe(false);
  });
});
