// Progress: growth over time, strongest and weakest skills, knowledge gaps with what to do, readiness against the
// learner's goal, alerts and the peer percentile — drawn from the insights function; recent sessions over REST.
import { lineChart } from './charts.js';
import { h, percent, score, sectionName, sentence, words } from './dom.js';
import { scoreTable } from './practice.js';

const WINDOW_DAYS = 30;

export async function renderProgress(ctx) {
  const [insights, sessions] = await Promise.all([
    ctx.backend.invoke('insights', { days: WINDOW_DAYS }),
    ctx.backend.rest(ctx.backend.from('practice_sessions')
      .select('id, mode, status, started_at, total_interactions')
      .order('started_at', { ascending: false }).limit(5)),
  ]);
  ctx.view.replaceChildren(h('h1', {}, 'Your progress'),
    readinessCard(insights),
    h('section', { class: 'card', 'aria-labelledby': 'growth-title' },
      h('h2', { id: 'growth-title' }, `Growth over the last ${insights.window_days} days`),
      growthCharts(insights.series)),
    skillsCard(insights),
    gapsCard(insights),
    alertsCard(insights),
    peerCard(insights.peer_percentile),
    sessionsCard(sessions));
}

function readinessCard({ readiness, goals, predicted_scores: predicted }) {
  const r = readiness;
  const target = r.scope === 'total' ? 'total' : sectionName(r.scope);
  const facts = [
    ['Predicted score', r.predicted_score === null ? '—' : `${score(r.predicted_score)} (${score(r.low)}–${score(r.high)})`],
    [`Your target (${target})`, score(r.target_score)],
    ['Chance of reaching it', percent(r.pass_probability)],
    ['Of the way there', r.readiness_pct === null ? '—' : `${r.readiness_pct.toFixed(0)}%`],
    ['Days until ready', r.days_to_ready === null ? sentence(r.days_to_ready_reason ?? '—') : String(r.days_to_ready)],
    ['Exam', goals.exam_date ? `${goals.exam_date} (${goals.days_left} days left)` : 'no date set'],
  ];
  const verdict = r.ready === null ? sentence(r.reason ?? 'Answer a few questions to get a prediction.')
    : r.ready ? 'You are on course to reach your target.'
      : r.on_track === false ? 'At this pace you will not reach your target by the exam.' : 'Not there yet: keep practising.';
  return h('section', { class: 'card', id: 'readiness', 'aria-labelledby': 'readiness-title' },
    h('h2', { id: 'readiness-title' }, 'Readiness'),
    h('p', { class: 'verdict' }, verdict),
    h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    scoreTable(predicted),
    goals.defaulted.length ? h('p', { class: 'hint' }, 'Some goals are defaults. ', h('a', { href: '#goal' }, 'Set your goal')) : null);
}

const MIN_DAYS_SHOWN = 7;

/** The series from the first day with any value (at least the last week): a new learner's one day of data is
 * not squeezed against the right edge of an empty month. */
function recent(series) {
  const known = (v) => v !== null && v !== undefined;
  const hasData = (d, i) => d.answers > 0 || known(d.avg_mastery) || known(d.predicted_total)
    || Object.values(d.section_scores ?? {}).some(known) || series.topics.some((t) => known(t.mastery[i]));
  const first = series.days.findIndex(hasData);
  const start = Math.max(0, Math.min(first < 0 ? series.days.length : first, series.days.length - MIN_DAYS_SHOWN));
  return { days: series.days.slice(start), topics: series.topics.map((t) => ({ ...t, mastery: t.mastery.slice(start) })) };
}

function growthCharts(window) {
  const series = recent(window);
  const days = series.days.map((d) => d.day);
  const sections = [...new Set(series.days.flatMap((d) => Object.keys(d.section_scores ?? {})))].sort();
  const scoreSeries = [
    { name: 'Total', values: series.days.map((d) => d.predicted_total ?? null) },
    ...sections.map((s) => ({ name: sectionName(s), values: series.days.map((d) => d.section_scores?.[s] ?? null) })),
  ];
  const topics = series.topics.filter((t) => t.mastery.some((v) => v !== null));
  return h('div', { class: 'charts' },
    lineChart({ id: 'predicted-score', title: 'Predicted score', days, series: scoreSeries,
                y: { min: 200, max: 1600, format: (v) => String(Math.round(v)) } }),
    lineChart({ id: 'mastery', title: 'Average mastery', days,
                series: [{ name: 'Average mastery', values: series.days.map((d) => d.avg_mastery ?? null) }],
                y: { min: 0, max: 1, format: (v) => percent(v) } }),
    lineChart({ id: 'topic-mastery', title: 'Mastery by topic', days,
                series: topics.map((t) => ({ name: t.topic, values: t.mastery })),
                y: { min: 0, max: 1, format: (v) => percent(v) } }),
    lineChart({ id: 'accuracy', title: 'Accuracy per day', days,
                series: [{ name: 'Accuracy', values: series.days.map((d) => (d.answers ? d.correct / d.answers : null)) }],
                y: { min: 0, max: 1, format: (v) => percent(v) } }));
}

function skillList(id, title, skills, empty) {
  return h('div', { id },
    h('h3', {}, title),
    skills.length ? h('ol', {}, skills.map((s) => h('li', { dataset: { skillId: s.skill_id } },
      `${s.skill_name}: ${percent(s.effective_mastery)}`))) : h('p', { class: 'empty' }, empty));
}

function skillsCard({ strongest, weakest }) {
  const empty = 'Skills are ranked once you have answered 3 questions on them.';
  return h('section', { class: 'card two', 'aria-labelledby': 'skills-title' },
    h('h2', { id: 'skills-title' }, 'Skills'),
    skillList('strongest', 'Strongest', strongest, empty),
    skillList('weakest', 'Weakest', weakest, empty));
}

function gapsCard({ knowledge_gaps: gaps, knowledge_gaps_as_of: asOf }) {
  return h('section', { class: 'card', id: 'gaps', 'aria-labelledby': 'gaps-title' },
    h('h2', { id: 'gaps-title' }, 'What to work on'),
    gaps.length ? h('ul', { class: 'gaps' }, gaps.map((g) => h('li', { dataset: { skillId: g.skill_id } },
      h('strong', {}, g.skill_name), ' ', h('span', { class: `badge ${g.severity}` }, `${g.severity} priority`),
      h('p', {}, g.recommendation))))
      : h('p', { class: 'empty' }, asOf ? 'No gaps found. Well done!' : 'Gaps are worked out every night after you practise.'));
}

function alertsCard({ alerts }) {
  return h('section', { class: 'card', id: 'alerts', 'aria-labelledby': 'alerts-title' },
    h('h2', { id: 'alerts-title' }, 'Alerts'),
    alerts.length ? h('ul', {}, alerts.map((a) => h('li', { class: `alert ${a.severity}`, dataset: { type: a.type } },
      h('strong', {}, `${words(a.type)}: `), a.message))) : h('p', { class: 'empty' }, 'Nothing needs your attention.'));
}

function peerCard(peer) {
  const text = peer.k_anonymous && peer.percentile !== null && peer.percentile !== undefined
    ? `You are ahead of ${Math.round(peer.percentile)}% of learners preparing for the same exam.`
    : 'A comparison with other learners appears once enough of them have practised.';
  return h('section', { class: 'card', id: 'peers', 'aria-labelledby': 'peers-title' },
    h('h2', { id: 'peers-title' }, 'Compared with others'), h('p', {}, text));
}

function sessionsCard(sessions) {
  return h('section', { class: 'card', id: 'recent-sessions', 'aria-labelledby': 'sessions-title' },
    h('h2', { id: 'sessions-title' }, 'Recent sessions'),
    sessions.length ? h('ul', {}, sessions.map((s) => h('li', { dataset: { sessionId: s.id } },
      `${new Date(s.started_at).toLocaleString()}: ${s.total_interactions} answers, ${s.status}`)))
      : h('p', { class: 'empty' }, 'No sessions yet.'));
}
