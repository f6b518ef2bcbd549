import type { Plugin } from 'vite';
export function parleyEmoji(): Plugin;
