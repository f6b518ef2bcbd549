// app/avatar.tsx: initials on a colour derived from the user or room id (no images yet:
// avatars arrive with attachments).
const kHues = [8, 28, 45, 140, 170, 195, 215, 245, 270, 300, 330];

function hueOf(id: string): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return kHues[h % kHues.length];
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) return '?';
  const first = [...parts[0]][0] ?? '?';
  const second = parts.length > 1 ? [...parts[parts.length - 1]][0] ?? '' : '';
  return (first + second).toUpperCase();
}

export function Avatar({ id, name, size = 36, group = false }: { id: string; name: string; size?: number; group?: boolean }) {
  return (
    <span class={`avatar${group ? ' avatar-group' : ''}`} aria-hidden="true"
          style={{ '--hue': String(hueOf(id)), width: `${size}px`, height: `${size}px`, fontSize: `${Math.round(size * 0.4)}px` }}>
      {group ? '#' : initials(name)}
    </span>
  );
}

/** A presence dot over an avatar (online: green, away: amber, offline: hollow). */
export function PresenceDot({ status }: { status: 'online' | 'away' | 'offline' }) {
  return <span class={`presence-dot ${status}`} data-presence={status} aria-hidden="true" />;
}
