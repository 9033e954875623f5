// Goal: the learner's profile (public.learner_profiles), read and upserted over REST under RLS. The database's
// check constraints are the validation (README, "An insights response"): a bad value comes back as HTTP 400.
import { h, sectionName } from './dom.js';

const SECTIONS = ['math', 'reading_writing'];

function zones() {
  try { return Intl.supportedValuesOf('timeZone'); } catch { return ['UTC']; }
}

function targetInput(id, label, value, min, max) {
  return [h('label', { for: id }, label),
    h('input', { id, name: id, type: 'number', min, max, step: 10, value: value ?? '', inputmode: 'numeric' })];
}

export async function renderGoal(ctx, user) {
  const profile = await ctx.backend.rest(ctx.backend.from('learner_profiles').select('*').maybeSingle()) ?? {};
  const prepared = profile.sections ?? SECTIONS;
  const zone = profile.time_zone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
  const form = h('form', { class: 'card', id: 'goal-form', 'aria-labelledby': 'goal-title' },
    h('h2', { id: 'goal-title' }, profile.user_id ? 'Your goal' : 'Set your goal'),
    h('label', { for: 'exam' }, 'Exam'),
    h('select', { id: 'exam', name: 'exam' }, h('option', { value: 'sat', selected: true }, 'SAT')),
    h('fieldset', {}, h('legend', {}, 'Sections you prepare'),
      SECTIONS.map((s) => h('div', { class: 'option' },
        h('input', { type: 'checkbox', id: `section-${s}`, name: 'sections', value: s, checked: prepared.includes(s) }),
        h('label', { for: `section-${s}` }, sectionName(s))))),
    targetInput('target_math', 'Target score, Math (200–800)', profile.target_math, 200, 800),
    targetInput('target_reading_writing', 'Target score, Reading and Writing (200–800)',
      profile.target_reading_writing, 200, 800),
    targetInput('target_total', 'Target total score (400–1600)', profile.target_total, 400, 1600),
    h('label', { for: 'exam_date' }, 'Exam date'),
    h('input', { id: 'exam_date', name: 'exam_date', type: 'date', value: profile.exam_date ?? '' }),
    h('label', { for: 'time_zone' }, 'Time zone'),
    h('select', { id: 'time_zone', name: 'time_zone' },
      [...new Set(['UTC', zone, ...zones()])].map((z) => h('option', { value: z, selected: z === zone }, z))),
    h('button', { type: 'submit', id: 'save-goal' }, 'Save goal'),
    h('p', { id: 'goal-status', role: 'status' }));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const sections = SECTIONS.filter((s) => form.querySelector(`#section-${s}`).checked);
    const number = (name) => (form.elements[name].value === '' ? null : Number(form.elements[name].value));
    const row = {
      user_id: user.id, exam: form.elements.exam.value, sections,
      target_math: sections.includes('math') ? number('target_math') : null,
      target_reading_writing: sections.includes('reading_writing') ? number('target_reading_writing') : null,
      target_total: sections.length === 2 ? number('target_total') : null,
      exam_date: form.elements.exam_date.value || null, time_zone: form.elements.time_zone.value,
    };
    ctx.run(form, async () => {
      await ctx.backend.rest(ctx.backend.from('learner_profiles').upsert(row).select().single());
      form.querySelector('#goal-status').textContent = 'Saved.';
    });
  });
  ctx.view.replaceChildren(h('h1', {}, 'Goal'), form);
}
