/**
 * Error-rate curves (ISO/IEC 19795-1): FMR and FNMR at every threshold from genuine and
 * impostor scores, the equal error rate, FNMR at a fixed FMR, and a DET plot as SVG on normal
 * deviate axes (the usual DET scale, where normal score distributions give straight lines).
 */
import { normalQuantile } from './calibration.js';

export interface ErrorPoint { threshold: number; fmr: number; fnmr: number }

/** Sweeps thresholds over all observed scores (higher score = more similar). */
export function errorCurve(genuine: readonly number[], impostor: readonly number[]): ErrorPoint[] {
  const g = [...genuine].sort((a, b) => a - b);
  const im = [...impostor].sort((a, b) => a - b);
  const thresholds = [...new Set([...g, ...im])].sort((a, b) => a - b);
  const points: ErrorPoint[] = [];
  let gi = 0;
  let ii = 0;
  for (const t of thresholds) {
    while (gi < g.length && g[gi]! < t) gi += 1;
    while (ii < im.length && im[ii]! < t) ii += 1;
    // Accept when score >= t: FNMR = genuine below t, FMR = impostors at or above t.
    points.push({ threshold: t, fnmr: gi / Math.max(1, g.length), fmr: (im.length - ii) / Math.max(1, im.length) });
  }
  points.push({ threshold: Infinity, fnmr: 1, fmr: 0 });
  return points;
}

export function equalErrorRate(curve: readonly ErrorPoint[]): number {
  let best = { gap: Infinity, eer: 1 };
  for (const p of curve) {
    const gap = Math.abs(p.fmr - p.fnmr);
    if (gap < best.gap) best = { gap, eer: (p.fmr + p.fnmr) / 2 };
  }
  return best.eer;
}

/** The lowest FNMR among thresholds whose FMR is at most `fmr`. */
export function fnmrAtFmr(curve: readonly ErrorPoint[], fmr: number): { fnmr: number; threshold: number } {
  let best = { fnmr: 1, threshold: Infinity };
  for (const p of curve) if (p.fmr <= fmr && p.fnmr < best.fnmr) best = { fnmr: p.fnmr, threshold: p.threshold };
  return best;
}

const rate_floor = 1e-6;
const probit = (p: number): number => normalQuantile(Math.min(1 - 1e-9, Math.max(rate_floor, p)));

/** A DET plot: FNMR against FMR on normal deviate axes, 0.0001% .. 50%. */
export function detSvg(curves: { label: string; points: readonly ErrorPoint[] }[], title: string): string {
  const size = 480;
  const margin = 60;
  const low = probit(rate_floor);
  const high = probit(0.5);
  const scale = (p: number): number => margin + ((probit(p) - low) / (high - low)) * (size - 2 * margin);
  const ticks = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 0.5];
  const colours = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
  const lines = curves.map((curve, k) => {
    const path = curve.points.filter((p) => p.fmr <= 0.5 && p.fnmr <= 0.5)
      .map((p) => `${scale(p.fmr).toFixed(1)},${(size - scale(p.fnmr)).toFixed(1)}`).join(' ');
    return `<polyline fill="none" stroke="${colours[k % colours.length]}" stroke-width="2" points="${path}"/>` +
      `<text x="${size - margin - 150}" y="${margin + 18 * (k + 1)}" fill="${colours[k % colours.length]}" font-size="12">${escapeXml(curve.label)}</text>`;
  });
  const grid = ticks.map((t) => {
    const at = scale(t).toFixed(1);
    const label = `${+(t * 100).toPrecision(2)}%`;
    return `<line x1="${at}" y1="${margin}" x2="${at}" y2="${size - margin}" stroke="#ddd"/><text x="${at}" y="${size - margin + 16}" font-size="10" text-anchor="middle">${label}</text>` +
      `<line x1="${margin}" y1="${size - +at}" x2="${size - margin}" y2="${size - +at}" stroke="#ddd"/><text x="${margin - 6}" y="${size - +at + 3}" font-size="10" text-anchor="end">${label}</text>`;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`, ...grid,
    `<rect x="${margin}" y="${margin}" width="${size - 2 * margin}" height="${size - 2 * margin}" fill="none" stroke="#333"/>`,
    `<text x="${size / 2}" y="24" font-size="14" text-anchor="middle">${escapeXml(title)}</text>`,
    `<text x="${size / 2}" y="${size - 16}" font-size="12" text-anchor="middle">FMR (false match rate)</text>`,
    `<text x="16" y="${size / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 16 ${size / 2})">FNMR (false non-match rate)</text>`,
    ...lines, '</svg>', '',
  ].join('\n');
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);
}
