// Practice: start a session, answer served questions (multiple choice or numeric), see the feedback with the
// correct answer and the mastery change of each skill, finish and see the summary with predicted scores.
// Everything is answerable with the keyboard alone: the first answer field gets focus, Enter submits, and the
// feedback's button gets focus next.
import { h, percent, points, score, sectionName, seconds } from './dom.js';

export function renderPractice(ctx) {
  const { view } = ctx;
  const form = h('form', { class: 'card', 'aria-labelledby': 'start-title' },
    h('h2', { id: 'start-title' }, 'Start a practice session'),
    h('label', { for: 'section' }, 'Section'),
    h('select', { id: 'section', name: 'section' },
      h('option', { value: '' }, 'Both sections'),
      h('option', { value: 'math' }, 'Math'),
      h('option', { value: 'reading_writing' }, 'Reading and Writing')),
    h('label', { for: 'questions' }, 'Number of questions'),
    h('input', { id: 'questions', name: 'questions', type: 'number', min: 1, max: 20, value: 5, required: true }),
    h('button', { type: 'submit', id: 'start' }, 'Start practice'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const section = form.elements.section.value || null;
    const target = Number(form.elements.questions.value);
    ctx.run(form, async () => {
      const session = await ctx.backend.invoke('start_session',
        { mode: 'adaptive', exam_section: section, target_questions: target });
      await nextQuestion(ctx, { id: session.session_id, target: session.target_questions, skills: new Map() });
    });
  });
  view.replaceChildren(h('h1', {}, 'Practice'), form);
}

async function nextQuestion(ctx, session) {
  const next = await ctx.backend.invoke('next_question', { session_id: session.id });
  if (next.status !== 'served') {
    await finish(ctx, session);
    return;
  }
  showQuestion(ctx, session, next);
}

function progressLine(session, answered) {
  return h('p', { class: 'progress', id: 'session-progress' }, `Question ${answered + 1} of ${session.target}`);
}

function showQuestion(ctx, session, next) {
  const question = next.question;
  for (const skill of question.skills) session.skills.set(String(skill.skill_id), skill.name);
  const shownAt = performance.now();
  const idempotencyKey = crypto.randomUUID(); // one per question shown: a retry of this answer replays it
  const answerField = question.question_type === 'multiple_choice'
    ? h('fieldset', { class: 'options' }, h('legend', {}, 'Choose one answer'),
      question.options.map((option, i) => h('div', { class: 'option' },
        h('input', { type: 'radio', name: 'answer', id: `option-${i}`, value: option.label, required: true }),
        h('label', { for: `option-${i}` }, h('span', { class: 'option-label' }, option.label), ' ', option.text))))
    : h('div', {},
      h('label', { for: 'numeric-answer' }, 'Your answer (a number)'),
      h('input', { id: 'numeric-answer', name: 'answer', type: 'text', inputmode: 'decimal', autocomplete: 'off',
                   required: true, pattern: '\\s*-?[0-9]*[.,]?[0-9]+(/[0-9]+)?\\s*' }));
  const form = h('form', { class: 'card question', 'aria-labelledby': 'question-stem',
                           dataset: { questionId: question.id, questionType: question.question_type,
                                      position: next.session_progress.answered + 1 } },
    progressLine(session, next.session_progress.answered),
    h('p', { class: 'meta' }, [question.exam_section ? sectionName(question.exam_section) : null,
                               question.skills.map((s) => s.name).join(', ')].filter(Boolean).join(' · ')),
    h('h2', { id: 'question-stem', class: 'stem' }, question.stem),
    answerField,
    h('label', { for: 'confidence' }, 'How sure are you?'),
    h('select', { id: 'confidence', name: 'confidence' },
      [[1, 'Guessing'], [2, 'Unsure'], [3, 'Fairly sure'], [4, 'Sure'], [5, 'Certain']].map(([value, text]) =>
        h('option', { value, selected: value === 3 }, text))),
    h('button', { type: 'submit', id: 'submit-answer' }, 'Check answer'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const answer = question.question_type === 'multiple_choice'
      ? form.querySelector('input[name=answer]:checked')?.value
      : form.elements.answer.value.trim().replace(',', '.');
    if (!answer) return;
    ctx.run(form, async () => {
      const result = await ctx.backend.invoke('submit_answer', {
        session_id: session.id, question_id: question.id, user_answer: [answer],
        confidence_score: Number(form.elements.confidence.value),
        time_spent_seconds: Math.max(1, Math.round((performance.now() - shownAt) / 100) / 10),
        idempotency_key: idempotencyKey,
      });
      showFeedback(ctx, session, question, result, form);
    });
  });
  ctx.view.replaceChildren(h('h1', {}, 'Practice'), form);
  form.querySelector('input').focus();
}

function answerText(question, labels) {
  if (question.question_type !== 'multiple_choice') return labels.join(', ');
  return labels.map((label) => {
    const option = question.options.find((o) => o.label === label);
    return option ? `${label}: ${option.text}` : label;
  }).join(', ');
}

function showFeedback(ctx, session, question, result, form) {
  for (const input of form.querySelectorAll('input, select, button')) input.disabled = true;
  const done = result.session_progress.answered >= session.target;
  const button = h('button', { type: 'button', id: done ? 'finish' : 'next' }, done ? 'See my summary' : 'Next question');
  button.addEventListener('click', () => ctx.run(button, () => (done ? finish(ctx, session) : nextQuestion(ctx, session))));
  const panel = h('section', { class: `card feedback ${result.is_correct ? 'right' : 'wrong'}`, id: 'feedback',
                               'aria-labelledby': 'verdict', dataset: { correct: result.is_correct } },
    h('h2', { id: 'verdict', tabindex: -1 }, result.is_correct ? 'Correct' : 'Not quite'),
    h('p', { id: 'correct-answer' }, 'Correct answer: ', h('strong', {}, answerText(question, result.correct_answer))),
    result.explanation ? h('p', { class: 'explanation' }, result.explanation) : null,
    result.feedback ? h('p', { class: 'feedback-line' }, result.feedback) : null,
    h('h3', {}, 'Mastery change'),
    h('ul', { class: 'mastery-changes' }, result.skills.map((skill) => h('li', {
      class: 'mastery-change',
      dataset: { skillId: skill.skill_id, masteryBefore: skill.mastery_before, masteryAfter: skill.mastery_after },
    }, h('span', { class: 'skill' }, skill.skill_name), ' ',
    h('span', { class: 'values' }, `${percent(skill.mastery_before)} → ${percent(skill.mastery_after)}`), ' ',
    h('span', { class: skill.mastery_after >= skill.mastery_before ? 'delta up' : 'delta down' },
      `(${points(skill.mastery_after - skill.mastery_before)})`)))),
    h('p', { class: 'progress' },
      `${result.session_progress.correct} of ${result.session_progress.answered} right so far`),
    button);
  form.after(panel);
  // Focus goes to the next step (keyboard flow); the verdict is read out by the page's live region.
  document.getElementById('announce').textContent =
    `${result.is_correct ? 'Correct' : 'Not quite'}. Correct answer: ${answerText(question, result.correct_answer)}.`;
  button.focus();
}

async function finish(ctx, session) {
  const result = await ctx.backend.invoke('complete_session', { session_id: session.id });
  const snap = result.snapshot;
  const predicted = snap.predicted_scores;
  const gained = Object.entries(snap.mastery_gained ?? {});
  const summary = h('section', { class: 'card', id: 'summary', 'aria-labelledby': 'summary-title' },
    h('h2', { id: 'summary-title', tabindex: -1 }, 'Session summary'),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Answered'), h('dd', { id: 'summary-answered' }, String(snap.total_answered)),
      h('dt', {}, 'Right'), h('dd', { id: 'summary-correct' }, String(snap.total_correct)),
      h('dt', {}, 'Accuracy'), h('dd', {}, percent(snap.accuracy)),
      h('dt', {}, 'Time'), h('dd', {}, seconds(snap.time_spent_seconds)),
      h('dt', {}, 'Average mastery'), h('dd', {}, percent(snap.avg_mastery)),
      snap.pass_probability !== null && snap.pass_probability !== undefined
        ? [h('dt', {}, 'Chance of reaching your target'), h('dd', {}, percent(snap.pass_probability))] : null),
    predicted ? scoreTable(predicted) : null,
    gained.length ? [h('h3', {}, 'Mastery gained'), h('ul', {}, gained.map(([skill, delta]) =>
      h('li', {}, `${session.skills.get(skill) ?? `Skill ${skill}`}: ${points(delta)}`)))] : null,
    h('p', {}, h('a', { href: '#progress' }, 'See your progress')));
  const again = h('button', { type: 'button', id: 'again' }, 'Practise again');
  again.addEventListener('click', () => renderPractice(ctx));
  summary.append(again);
  ctx.view.replaceChildren(h('h1', {}, 'Practice'), summary);
  summary.querySelector('h2').focus();
}

export function scoreTable(predicted) {
  const rows = predicted.sections.map((s) => h('tr', { dataset: { section: s.section } },
    h('th', { scope: 'row' }, sectionName(s.section)),
    h('td', {}, score(s.score)),
    h('td', {}, s.score === null ? (s.reason ?? 'not enough answers yet') : `${score(s.low)}–${score(s.high)}`)));
  if (predicted.sections.length > 1) {
    rows.push(h('tr', { class: 'total', dataset: { section: 'total' } }, h('th', { scope: 'row' }, 'Total'),
      h('td', {}, score(predicted.total)),
      h('td', {}, predicted.total === null ? (predicted.total_reason ?? 'not enough answers yet')
        : `${score(predicted.total_low)}–${score(predicted.total_high)}`)));
  }
  return h('table', { class: 'scores', id: 'predicted-scores' },
    h('caption', {}, `Predicted exam scores (${Math.round(predicted.interval_level * 100)}% range)`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Section'), h('th', { scope: 'col' }, 'Score'),
      h('th', { scope: 'col' }, 'Likely range'))),
    h('tbody', {}, rows));
}
