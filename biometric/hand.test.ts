/**
 * Goal: the finger valleys are found at the bottom of each gap even when two fingers are held
 * close, so the gap narrows to a couple of pixels near its bottom (it closes on the half-size
 * segmentation mask). The hand is drawn from geometry here (a palm, a forearm, four fingers and
 * a thumb as capsules), not by the synthetic generator: the true gap bottoms are known exactly
 * (the palm's top edge).
 */
import { describe, expect, it } from 'vitest';
import { locateHand } from './hand.js';
import type { GrayImage } from './image.js';

const side = 448;
const palmTop = 230;
interface Capsule { ax: number; ay: number; bx: number; by: number; r: number }

function insideCapsule(x: number, y: number, c: Capsule): boolean {
  const dx = c.bx - c.ax;
  const dy = c.by - c.ay;
  const t = Math.max(0, Math.min(1, ((x - c.ax) * dx + (y - c.ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(x - c.ax - t * dx, y - c.ay - t * dy) <= c.r;
}

/** Fingers' tip x positions; the bases sit 46 px apart with radius 22 (2 px apart between fingers 1 and 2). */
function drawHand(tips: [number, number, number, number]): GrayImage {
  const bases = [126, 172, 240, 304];
  const fingers: Capsule[] = bases.map((x, i) => ({ ax: x, ay: palmTop + 10, bx: tips[i]!, by: 90, r: 22 }));
  const thumb: Capsule = { ax: 110, ay: 330, bx: 40, by: 250, r: 26 };
  const data = new Uint8Array(side * side);
  for (let y = 0; y < side; y += 1) for (let x = 0; x < side; x += 1) {
    // Sub-pixel coverage (4 x 4 samples), as a sensor integrates light over a pixel.
    let covered = 0;
    for (let sy = 0; sy < 4; sy += 1) for (let sx = 0; sx < 4; sx += 1) {
      const px = x + (sx + 0.5) / 4 - 0.5;
      const py = y + (sy + 0.5) / 4 - 0.5;
      const palm = px >= 100 && px <= 330 && py >= palmTop && py <= 400;
      const forearm = px >= 130 && px <= 300 && py > 400;
      if (palm || forearm || insideCapsule(px, py, thumb) || fingers.some((f) => insideCapsule(px, py, f))) covered += 1;
    }
    data[y * side + x] = Math.round(40 + (covered / 16) * 140 + ((x * 7 + y * 13) % 5));
  }
  return { width: side, height: side, data };
}

describe('finger valleys', () => {
  it('finds the bottom of a gap that narrows to two pixels as well as that of open gaps', () => {
    // Fingers 0 and 1 lean apart above a 2 px gap at the base; 2 and 3 are spread normally.
    const hand = locateHand(drawHand([96, 196, 262, 340]));
    // Without following the gap at full resolution, the first valley sat 15 px above the bottom.
    for (const valley of hand.valleys) expect(Math.abs(valley.y - palmTop)).toBeLessThan(1.5);
    expect(Math.abs(hand.valleys[0].x - 150)).toBeLessThan(2);
  });

  it('finds the same bottoms when the narrow gap opens faster above it', () => {
    const spread = locateHand(drawHand([60, 180, 262, 340]));
    for (const valley of spread.valleys) expect(Math.abs(valley.y - palmTop)).toBeLessThan(1.5);
  });
});
