// pwa_plugin.mjs: a Vite plugin that makes the build installable (issue 5, "Mobile and
// accessibility"). At `vite build` it emits, next to index.html:
//  - icon-192.png, icon-512.png and icon-maskable-512.png, rasterised here from the shapes
//    of public/icon.svg (rounded square with the brand gradient, a speech bubble, three dots),
//    so no image tool or download is needed and the PNGs never drift from the build;
//  - sw.js, from src/service_worker.js with the build's precache list (index.html, every
//    hashed asset, the icons and the manifest) and a version derived from it, so each deploy
//    gets its own cache and the previous one is deleted when the new worker activates.
// public/manifest.webmanifest names the icons. The server serves both files with the right
// types and `Cache-Control: no-cache` (src/http/static_files.cc).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { deflateSync, crc32 } from 'node:zlib';

const kBrandTop = [0x6e, 0x6a, 0xf0];
const kBrandBottom = [0x4b, 0x3f, 0xd1];
const kDot = [0x5a, 0x52, 0xe3];

/** Signed distance (negative inside) to a rounded rectangle. */
function roundedRect(x, y, x0, y0, x1, y1, r) {
  const qx = Math.abs(x - (x0 + x1) / 2) - ((x1 - x0) / 2 - r);
  const qy = Math.abs(y - (y0 + y1) / 2) - ((y1 - y0) / 2 - r);
  const ox = qx > 0 ? qx : 0;
  const oy = qy > 0 ? qy : 0;
  return Math.sqrt(ox * ox + oy * oy) + Math.min(qx > qy ? qx : qy, 0) - r;
}

/** Whether (x, y) lies inside the convex polygon `pts`. */
function inConvex(x, y, pts) {
  let sign = 0;
  for (let i = 0; i < pts.length; i++) {
    const [ax, ay] = pts[i];
    const [bx, by] = pts[(i + 1) % pts.length];
    const c = (bx - ax) * (y - ay) - (by - ay) * (x - ax);
    if (c !== 0) {
      if (sign === 0) sign = c > 0 ? 1 : -1;
      else if ((c > 0 ? 1 : -1) !== sign) return false;
    }
  }
  return true;
}

const kTail = [[20, 38], [31, 38], [22.3, 46.2], [20, 45.4]];
const kOutside = 0, kBackground = 1, kBubble = 2, kDotPaint = 3;

/**
 * What the icon paints at (x, y) in icon.svg's 64×64 user space. `maskable`: a full-bleed
 * square, with the bubble and dots shrunk 0.8× around the centre into the safe zone.
 */
function paintAt(x, y, maskable) {
  if (!maskable && roundedRect(x, y, 0, 0, 64, 64, 16) > 0) return kOutside;
  const s = maskable ? 0.8 : 1;
  const u = (x - 32) / s + 32;
  const v = (y - 31) / s + 31;
  if (v > 24 && v < 30) {
    for (const cx of [26, 32, 38]) if ((u - cx) * (u - cx) + (v - 27) * (v - 27) <= 2.6 * 2.6) return kDotPaint;
  }
  if (roundedRect(u, v, 17, 15, 47, 39, 5.5) <= 0) return kBubble;
  if (v >= 38 && inConvex(u, v, kTail)) return kBubble;
  return kBackground;
}

/** RGBA pixels of the icon at `size`×`size`, 4×4 supersampled. */
function rasterize(size, maskable) {
  const px = Buffer.alloc(size * size * 4);
  const n = 4;
  const k = 64 / size;
  for (let py = 0; py < size; py++) {
    for (let qx = 0; qx < size; qx++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const x = (qx + (sx + 0.5) / n) * k;
          const y = (py + (sy + 0.5) / n) * k;
          const p = paintAt(x, y, maskable);
          if (p === kOutside) continue;
          a++;
          if (p === kBubble) { r += 255; g += 255; b += 255; continue; }
          if (p === kDotPaint) { r += kDot[0]; g += kDot[1]; b += kDot[2]; continue; }
          const t = (x + y) / 128; // the SVG's gradient runs from the top-left to the bottom-right
          r += kBrandTop[0] + (kBrandBottom[0] - kBrandTop[0]) * t;
          g += kBrandTop[1] + (kBrandBottom[1] - kBrandTop[1]) * t;
          b += kBrandTop[2] + (kBrandBottom[2] - kBrandTop[2]) * t;
        }
      }
      const o = (py * size + qx) * 4;
      if (a) { px[o] = Math.round(r / a); px[o + 1] = Math.round(g / a); px[o + 2] = Math.round(b / a); }
      px[o + 3] = Math.round((a * 255) / (n * n));
    }
  }
  return px;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A PNG (8-bit RGBA, no interlace) of `size`×`size` RGBA pixels. */
export function encodePng(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export const kIcons = [
  { fileName: 'icon-192.png', size: 192, maskable: false },
  { fileName: 'icon-512.png', size: 512, maskable: false },
  { fileName: 'icon-maskable-512.png', size: 512, maskable: true },
];

export function parleyPwa() {
  return {
    name: 'parley-pwa',
    apply: 'build',
    generateBundle(_options, bundle) {
      for (const icon of kIcons) {
        this.emitFile({ type: 'asset', fileName: icon.fileName, source: encodePng(icon.size, rasterize(icon.size, icon.maskable)) });
      }
      const assets = Object.keys(bundle).filter((f) => f.startsWith('assets/')).sort();
      const precache = ['/', ...assets.map((f) => `/${f}`), '/icon.svg', '/icon-maskable.svg', '/manifest.webmanifest',
                        ...kIcons.map((i) => `/${i.fileName}`)];
      const version = createHash('sha256').update(precache.join('\n')).digest('hex').slice(0, 12);
      const template = readFileSync(new URL('./src/service_worker.js', import.meta.url), 'utf8');
      if (!template.includes('self.__PARLEY_PRECACHE__') || !template.includes('self.__PARLEY_VERSION__')) {
        this.error('src/service_worker.js lost its __PARLEY_PRECACHE__ / __PARLEY_VERSION__ placeholders');
      }
      const source = template
        .replace('self.__PARLEY_PRECACHE__', JSON.stringify(precache))
        .replace('self.__PARLEY_VERSION__', JSON.stringify(version));
      this.emitFile({ type: 'asset', fileName: 'sw.js', source });
    },
  };
}
