import { defineConfig } from 'vitest/config';
import { parleyEmoji } from './emoji_plugin.mjs';

export default defineConfig({
  plugins: [parleyEmoji()],
  test: { include: ['src/**/*.test.ts'], environment: 'node' },
});
