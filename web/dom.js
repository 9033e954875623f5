// Small DOM helpers: every text goes through textContent (never innerHTML), so no response can inject markup.

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function percent(value, digits = 0) {
  return value === null || value === undefined ? '—' : `${(value * 100).toFixed(digits)}%`;
}

/** A mastery change in percentage points, signed: "+12.5 pts". */
export function points(delta) {
  const value = (delta * 100).toFixed(1);
  return `${delta >= 0 ? '+' : ''}${value === '-0.0' ? '0.0' : value} pts`;
}

export function sectionName(section) {
  return { math: 'Math', reading_writing: 'Reading and Writing' }[section] ?? section;
}

export function score(value) {
  return value === null || value === undefined ? '—' : String(Math.round(value));
}

export function seconds(value) {
  const total = Math.round(value);
  return total >= 60 ? `${Math.floor(total / 60)} min ${total % 60} s` : `${total} s`;
}

export function words(code) {
  return String(code).replaceAll('_', ' ');
}

/** A reason from the API ("needs 3 days of history") as a sentence: capitalised, with a full stop. */
export function sentence(text) {
  const t = String(text).trim();
  if (!t || t === '—') return t;
  return `${t[0].toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? '' : '.'}`;
}
