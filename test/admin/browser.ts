/**
 * Headless Chromium for the admin page's end-to-end tests (Debian's `chromium` package driven
 * by playwright-core, which downloads no browser of its own), and reading screenshots back so
 * a test can check what a person would actually see.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { PNG } from 'pngjs';

/** The Chromium binary: `CHROMIUM_PATH`, else Debian's. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Launches one headless Chromium (one per test file keeps the suite fast on two cores). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: run scripts/setup.sh --tests (it installs Debian's chromium), or set CHROMIUM_PATH`);
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A pixel region, in screenshot pixels. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

function rgb(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.replace('#', ''), 16);
  return [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

/**
 * Share (0..1) of the pixels in `box` of a PNG screenshot that are `hex`, give or take
 * `tolerance` per channel (anti-aliasing and colour management shift colours slightly).
 */
export function colourShare(png: Buffer, box: Box, hex: string, tolerance = 10): number {
  const image = PNG.sync.read(png);
  const [r, g, b] = rgb(hex);
  const x0 = Math.max(0, Math.floor(box.x));
  const y0 = Math.max(0, Math.floor(box.y));
  const x1 = Math.min(image.width, Math.ceil(box.x + box.width));
  const y1 = Math.min(image.height, Math.ceil(box.y + box.height));
  let matching = 0;
  let total = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * image.width + x) * 4;
      total += 1;
      const close = (value: number | undefined, want: number) => value !== undefined && Math.abs(value - want) <= tolerance;
      if (close(image.data[i], r) && close(image.data[i + 1], g) && close(image.data[i + 2], b)) matching += 1;
    }
  }
  return total === 0 ? 0 : matching / total;
}
