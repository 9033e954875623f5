// Clean SVG charts (no library): a line chart over days, one marker per known value (`circle.point`), gaps where a
// day has no value. Each chart is a figure with a caption and an aria-label that says what it shows.
const NS = 'http://www.w3.org/2000/svg';
const W = 640;
const H = 260;
const PAD = { left: 48, right: 12, top: 12, bottom: 32 };
// Colour-blind-safe (Okabe–Ito), each ≥ 3:1 against white for graphics (WCAG 1.4.11).
export const COLOURS = ['#0060b0', '#b04a00', '#007a55', '#a3006b', '#5a4fcf', '#8a6d00', '#333333'];

function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

function shortDay(day) {
  return new Date(`${day}T00:00:00Z`).toLocaleDateString(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });
}

/**
 * days: ['2026-12-01', ...]; series: [{name, values: [number|null per day]}]; y: {min, max, format(v)}.
 * Returns a <figure data-chart=id> holding the svg and a legend.
 */
export function lineChart({ id, title, days, series, y }) {
  const figure = document.createElement('figure');
  figure.className = 'chart';
  figure.dataset.chart = id;
  const caption = document.createElement('figcaption');
  caption.textContent = title;
  const known = series.flatMap((s) => s.values.filter((v) => v !== null && v !== undefined));
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', preserveAspectRatio: 'xMidYMid meet',
                            'aria-label': `${title}: ${known.length} data points over ${days.length} days` });
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (i) => PAD.left + (days.length <= 1 ? plotW / 2 : (i * plotW) / (days.length - 1));
  const yOf = (v) => PAD.top + plotH - ((v - y.min) / (y.max - y.min || 1)) * plotH;
  for (let k = 0; k <= 4; k += 1) {
    const value = y.min + ((y.max - y.min) * k) / 4;
    root.append(svg('line', { x1: PAD.left, x2: W - PAD.right, y1: yOf(value), y2: yOf(value), class: 'grid' }),
      svg('text', { x: PAD.left - 6, y: yOf(value) + 4, 'text-anchor': 'end', class: 'tick' }, y.format(value)));
  }
  const step = Math.max(1, Math.ceil(days.length / 6));
  days.forEach((day, i) => {
    const last = i === days.length - 1;
    if ((i % step === 0 && days.length - 1 - i >= step / 2) || last) {
      const anchor = last && days.length > 1 ? 'end' : i === 0 && days.length > 1 ? 'start' : 'middle';
      root.append(svg('text', { x: x(i), y: H - 10, 'text-anchor': anchor, class: 'tick' }, shortDay(day)));
    }
  });
  series.forEach((s, n) => {
    const colour = COLOURS[n % COLOURS.length];
    const group = svg('g', { class: 'series', 'data-series': s.name, stroke: colour, fill: colour });
    let run = [];
    const flush = () => {
      if (run.length > 1) group.append(svg('polyline', { points: run.join(' '), fill: 'none', 'stroke-width': 2.5 }));
      run = [];
    };
    s.values.forEach((v, i) => {
      if (v === null || v === undefined) { flush(); return; }
      run.push(`${x(i).toFixed(1)},${yOf(v).toFixed(1)}`);
      const point = svg('circle', { cx: x(i).toFixed(1), cy: yOf(v).toFixed(1), r: 5, class: 'point',
                                    'data-day': days[i], 'data-value': v });
      point.append(svg('title', {}, `${s.name}, ${days[i]}: ${y.format(v)}`));
      group.append(point);
    });
    flush();
    root.append(group);
  });
  figure.append(caption, root);
  if (series.length > 1) {
    const legend = document.createElement('ul');
    legend.className = 'legend';
    series.forEach((s, n) => {
      const item = document.createElement('li');
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = COLOURS[n % COLOURS.length];
      item.append(swatch, document.createTextNode(s.name));
      legend.append(item);
    });
    figure.append(legend);
  }
  if (known.length === 0) {
    const empty = document.createElement('p');
    empty.className = 'empty';
    empty.textContent = 'No data yet: it appears after your first practice and the nightly update.';
    figure.append(empty);
  }
  return figure;
}
