import { describe, expect, it } from 'vitest';
import type { RoomSummary } from '../sdk';
import { rankRooms } from './switcher';

function room(id: string, name: string, unread = 0): RoomSummary {
  return { room: { id, kind: 'group', name, topic: '', created_by: 'u', created_at: 0, last_seq: 0 },
           role: 'member', last_read_seq: 0, unread, last_message: null, dm_peer_id: null };
}
const rooms = [room('1', 'Design reviews'), room('2', 'Launch plan', 3), room('3', 'Plan B'), room('4', 'Airplanes')];
const store = { sortedRooms: () => rooms, roomTitle: (s: RoomSummary) => s.room.name, unread: (s: RoomSummary) => s.unread };

describe('rankRooms (Ctrl/Cmd-K)', () => {
  it('puts unread rooms first when nothing is typed, keeping activity order', () => {
    expect(rankRooms(store, '')).toEqual(['2', '1', '3', '4']);
  });
  it('ranks title prefix, then word prefix, then substring', () => {
    expect(rankRooms(store, 'pla')).toEqual(['3', '2', '4']);
    expect(rankRooms(store, 'zzz')).toEqual([]);
  });
});
