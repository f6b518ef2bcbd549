import type { Plugin } from 'vite';
export function parleyPwa(): Plugin;
export function encodePng(size: number, rgba: Buffer): Buffer;
export const kIcons: ReadonlyArray<{ fileName: string; size: number; maskable: boolean }>;
