-- Question bank seed (reproducible): 3 subjects, 12 topics, 36 skills with prerequisites,
-- 720 questions (20 per skill) tagged with 1–3 skills, answer keys, IRT and BKT defaults.
-- Every "random" choice is a deterministic function of the row (md5 of a key), so a rebuild gives
-- the same bank. Math and science items are computed, so their keys are actually correct.
-- No learner users are created here.

-- deterministic uniform in [0, 1) and integer in [lo, hi] from a text key
create function pg_temp.unit(p_key text) returns double precision
language sql immutable as $$
  select ('x' || substr(md5(p_key), 1, 8))::bit(32)::bigint / 4294967296.0
$$;
create function pg_temp.pick(p_key text, p_lo integer, p_hi integer) returns integer
language sql immutable as $$
  select p_lo + floor(pg_temp.unit(p_key) * (p_hi - p_lo + 1))::integer
$$;

-- ── taxonomy ────────────────────────────────────────────────────────────────────────────────
insert into public.subjects (code, name, exam_section, description) values
  ('math', 'Math', 'math', 'Algebra, advanced math, problem solving and data analysis, geometry and trigonometry'),
  ('reading_writing', 'Reading and Writing', 'reading_writing',
   'Information and ideas, craft and structure, expression of ideas, standard English conventions'),
  ('science', 'Science', 'science', 'Chemistry, physics, biology and scientific data interpretation');

insert into public.topics (subject_id, code, name, exam_weight, position)
select s.id, t.code, t.name, t.weight, t.position
from (values
  ('math', 'math.algebra', 'Algebra', 0.35, 1),
  ('math', 'math.advanced', 'Advanced Math', 0.35, 2),
  ('math', 'math.data', 'Problem Solving and Data Analysis', 0.15, 3),
  ('math', 'math.geometry', 'Geometry and Trigonometry', 0.15, 4),
  ('reading_writing', 'rw.information', 'Information and Ideas', 0.26, 1),
  ('reading_writing', 'rw.craft', 'Craft and Structure', 0.28, 2),
  ('reading_writing', 'rw.expression', 'Expression of Ideas', 0.20, 3),
  ('reading_writing', 'rw.conventions', 'Standard English Conventions', 0.26, 4),
  ('science', 'sci.chemistry', 'Chemistry', 0.25, 1),
  ('science', 'sci.physics', 'Physics', 0.25, 2),
  ('science', 'sci.biology', 'Biology', 0.25, 3),
  ('science', 'sci.data', 'Scientific Data Interpretation', 0.25, 4)
) as t(subject_code, code, name, weight, position)
join public.subjects s on s.code = t.subject_code
order by s.id, t.position;

insert into public.skills (topic_id, code, name, position)
select t.id, k.code, k.name, k.position
from (values
  ('math.algebra', 'math.linear_equations', 'Linear equations in one variable', 1),
  ('math.algebra', 'math.linear_inequalities', 'Linear inequalities', 2),
  ('math.algebra', 'math.systems_of_equations', 'Systems of linear equations', 3),
  ('math.advanced', 'math.exponent_rules', 'Exponent rules', 1),
  ('math.advanced', 'math.polynomial_operations', 'Polynomial operations', 2),
  ('math.advanced', 'math.quadratic_equations', 'Quadratic equations', 3),
  ('math.data', 'math.ratios_rates', 'Ratios, rates and proportions', 1),
  ('math.data', 'math.percentages', 'Percentages', 2),
  ('math.data', 'math.statistics_center', 'Mean, median and center', 3),
  ('math.geometry', 'math.area_perimeter', 'Area and perimeter', 1),
  ('math.geometry', 'math.pythagorean_theorem', 'Pythagorean theorem', 2),
  ('math.geometry', 'math.right_triangle_trig', 'Right-triangle trigonometry', 3),
  ('rw.information', 'rw.central_ideas', 'Central ideas and details', 1),
  ('rw.information', 'rw.command_of_evidence', 'Command of evidence', 2),
  ('rw.information', 'rw.inferences', 'Inferences', 3),
  ('rw.craft', 'rw.words_in_context', 'Words in context', 1),
  ('rw.craft', 'rw.text_structure', 'Text structure and purpose', 2),
  ('rw.craft', 'rw.cross_text_connections', 'Cross-text connections', 3),
  ('rw.expression', 'rw.transitions', 'Transitions', 1),
  ('rw.expression', 'rw.rhetorical_synthesis', 'Rhetorical synthesis', 2),
  ('rw.expression', 'rw.concision', 'Concision', 3),
  ('rw.conventions', 'rw.subject_verb_agreement', 'Subject–verb agreement', 1),
  ('rw.conventions', 'rw.verb_tense', 'Verb tense', 2),
  ('rw.conventions', 'rw.punctuation_boundaries', 'Sentence boundaries and punctuation', 3),
  ('sci.chemistry', 'sci.atomic_structure', 'Atomic structure', 1),
  ('sci.chemistry', 'sci.stoichiometry', 'Stoichiometry', 2),
  ('sci.chemistry', 'sci.acids_bases', 'Acids, bases and pH', 3),
  ('sci.physics', 'sci.kinematics', 'Kinematics', 1),
  ('sci.physics', 'sci.newtons_laws', 'Newton''s laws', 2),
  ('sci.physics', 'sci.energy_conservation', 'Energy conservation', 3),
  ('sci.biology', 'sci.cell_biology', 'Cell biology', 1),
  ('sci.biology', 'sci.genetics', 'Mendelian genetics', 2),
  ('sci.biology', 'sci.ecology', 'Ecology and energy flow', 3),
  ('sci.data', 'sci.reading_graphs', 'Reading graphs and tables', 1),
  ('sci.data', 'sci.experimental_design', 'Experimental design', 2),
  ('sci.data', 'sci.hypothesis_evaluation', 'Evaluating hypotheses', 3)
) as k(topic_code, code, name, position)
join public.topics t on t.code = k.topic_code
order by t.id, k.position;

insert into public.skill_prerequisites (skill_id, prerequisite_skill_id)
select s.id, p.id
from (values
  ('math.linear_inequalities', 'math.linear_equations'),
  ('math.systems_of_equations', 'math.linear_equations'),
  ('math.polynomial_operations', 'math.exponent_rules'),
  ('math.quadratic_equations', 'math.polynomial_operations'),
  ('math.quadratic_equations', 'math.linear_equations'),
  ('math.percentages', 'math.ratios_rates'),
  ('math.statistics_center', 'math.ratios_rates'),
  ('math.pythagorean_theorem', 'math.exponent_rules'),
  ('math.right_triangle_trig', 'math.pythagorean_theorem'),
  ('math.right_triangle_trig', 'math.ratios_rates'),
  ('math.area_perimeter', 'math.linear_equations'),
  ('rw.command_of_evidence', 'rw.central_ideas'),
  ('rw.inferences', 'rw.central_ideas'),
  ('rw.text_structure', 'rw.central_ideas'),
  ('rw.cross_text_connections', 'rw.text_structure'),
  ('rw.cross_text_connections', 'rw.command_of_evidence'),
  ('rw.rhetorical_synthesis', 'rw.transitions'),
  ('rw.rhetorical_synthesis', 'rw.central_ideas'),
  ('rw.concision', 'rw.words_in_context'),
  ('rw.verb_tense', 'rw.subject_verb_agreement'),
  ('rw.punctuation_boundaries', 'rw.subject_verb_agreement'),
  ('sci.stoichiometry', 'sci.atomic_structure'),
  ('sci.stoichiometry', 'math.ratios_rates'),
  ('sci.acids_bases', 'sci.atomic_structure'),
  ('sci.acids_bases', 'math.exponent_rules'),
  ('sci.kinematics', 'math.linear_equations'),
  ('sci.newtons_laws', 'sci.kinematics'),
  ('sci.energy_conservation', 'sci.newtons_laws'),
  ('sci.genetics', 'sci.cell_biology'),
  ('sci.genetics', 'math.percentages'),
  ('sci.ecology', 'sci.cell_biology'),
  ('sci.ecology', 'math.percentages'),
  ('sci.reading_graphs', 'math.statistics_center'),
  ('sci.experimental_design', 'sci.reading_graphs'),
  ('sci.hypothesis_evaluation', 'sci.experimental_design'),
  ('sci.hypothesis_evaluation', 'rw.command_of_evidence')
) as e(skill_code, prerequisite_code)
join public.skills s on s.code = e.skill_code
join public.skills p on p.code = e.prerequisite_code;

insert into public.topic_relationships (topic_id, related_topic_id, relationship_type, strength)
select t.id, r.id, e.kind, e.strength
from (values
  ('math.advanced', 'math.algebra', 'prerequisite', 1.0),
  ('math.geometry', 'math.algebra', 'prerequisite', 0.6),
  ('math.data', 'math.algebra', 'related', 0.5),
  ('rw.craft', 'rw.information', 'prerequisite', 0.7),
  ('rw.expression', 'rw.craft', 'prerequisite', 0.6),
  ('rw.conventions', 'rw.expression', 'related', 0.5),
  ('sci.chemistry', 'math.data', 'prerequisite', 0.6),
  ('sci.physics', 'math.algebra', 'prerequisite', 0.9),
  ('sci.biology', 'sci.chemistry', 'related', 0.5),
  ('sci.data', 'math.data', 'prerequisite', 0.8),
  ('sci.data', 'rw.information', 'related', 0.4)
) as e(topic_code, related_code, kind, strength)
join public.topics t on t.code = e.topic_code
join public.topics r on r.code = e.related_code;

-- ── item templates ──────────────────────────────────────────────────────────────────────────
-- One item of skill p_skill, variant p_n: stem, key, three distractors, explanation, and whether a
-- free-response (numeric) form makes sense.
create function pg_temp.make_item(p_skill text, p_n integer)
returns table (stem text, answer text, d1 text, d2 text, d3 text, explanation text, numeric_ok boolean)
language plpgsql immutable as $$
declare
  k text := p_skill || ':' || p_n;
  a integer := pg_temp.pick(k || ':a', 2, 9);
  b integer := pg_temp.pick(k || ':b', 1, 20);
  x integer := pg_temp.pick(k || ':x', 1, 15);
  y integer;
  c integer;
  v integer;
  noun text := (array['urban beekeeping', 'the invention of the printing press', 'coral reef restoration',
    'the recording of early jazz', 'battery storage for solar power', 'the migration of monarch butterflies',
    'Roman road building', 'the rise of public libraries', 'deep-sea vent ecology', 'the history of chess',
    'community gardening', 'the Harlem Renaissance', 'glacier retreat', 'medieval bookbinding',
    'the discovery of penicillin', 'the formation of volcanic islands', 'silent film', 'the spread of the potato',
    'wind-powered shipping', 'origami-inspired engineering'])[pg_temp.pick(k || ':noun', 1, 20)];
  tri integer[] := (array[array[3, 4, 5], array[5, 12, 13], array[8, 15, 17], array[7, 24, 25],
    array[20, 21, 29]])[pg_temp.pick(k || ':tri', 1, 5):pg_temp.pick(k || ':tri', 1, 5)];
  triple integer[] := array[tri[1][1], tri[1][2], tri[1][3]];
  scale integer := pg_temp.pick(k || ':scale', 1, 4);
  variant integer := p_n % 3;
  facts text[];
begin
  numeric_ok := true;
  case p_skill
  when 'math.linear_equations' then
    c := a * x + b;
    stem := format('Solve for x: %sx + %s = %s.', a, b, c);
    answer := x; d1 := x + 1; d2 := c - b; d3 := x - 1;
    explanation := format('Subtract %s from both sides to get %sx = %s, then divide by %s.', b, a, c - b, a);
  when 'math.linear_inequalities' then
    c := b + pg_temp.pick(k || ':c', 1, 40);
    v := floor((c - b)::numeric / a)::integer + 1;
    stem := format('What is the smallest integer x that satisfies %sx + %s > %s?', a, b, c);
    answer := v; d1 := v - 1; d2 := v + 1; d3 := v + 2;
    explanation := format('Subtract %s and divide by %s: x > %s. The smallest integer greater than that is %s.',
                          b, a, round((c - b)::numeric / a, 2), v);
  when 'math.systems_of_equations' then
    x := pg_temp.pick(k || ':x', 3, 16); y := pg_temp.pick(k || ':y', 1, x - 1);
    stem := format('If x + y = %s and x − y = %s, what is the value of x?', x + y, x - y);
    answer := x; d1 := y; d2 := x + y; d3 := x - y;
    explanation := format('Add the equations: 2x = %s, so x = %s.', 2 * x, x);
  when 'math.exponent_rules' then
    if variant = 0 then
      stem := format('If x^%s · x^%s = x^n for all x > 0, what is the value of n?', a, b + 1);
      answer := a + b + 1; d1 := a * (b + 1); d2 := a + b + 2; d3 := abs(a - b - 1);
      explanation := 'When multiplying powers with the same base, add the exponents.';
    else
      stem := format('If (x^%s)^%s = x^n for all x > 0, what is the value of n?', a, (b % 5) + 2);
      answer := a * ((b % 5) + 2); d1 := a + (b % 5) + 2; d2 := a * ((b % 5) + 2) + 1; d3 := a * ((b % 5) + 2) - 1;
      explanation := 'A power raised to a power: multiply the exponents.';
    end if;
  when 'math.polynomial_operations' then
    a := pg_temp.pick(k || ':a', 1, 9); b := pg_temp.pick(k || ':b2', 1, 9);
    stem := format('The expression (x + %s)(x + %s) is equivalent to x² + kx + %s. What is the value of k?', a, b, a * b);
    answer := a + b; d1 := a * b; d2 := a + b + 1; d3 := abs(a - b);
    explanation := format('Expanding gives x² + %sx + %sx + %s, so k = %s.', b, a, a * b, a + b);
  when 'math.quadratic_equations' then
    x := pg_temp.pick(k || ':r1', 1, 9); y := pg_temp.pick(k || ':r2', 1, 9);
    stem := format('What is the positive solution of the equation %s?',
      case when y - x > 0 then format('x² + %sx − %s = 0', y - x, x * y)
           when y - x < 0 then format('x² − %sx − %s = 0', x - y, x * y)
           else format('x² − %s = 0', x * y) end);
    answer := x; d1 := y; d2 := x + 1; d3 := x * y;
    explanation := format('Factor as (x − %s)(x + %s) = 0; the positive root is %s.', x, y, x);
  when 'math.ratios_rates' then
    v := 5 * pg_temp.pick(k || ':speed', 4, 14); c := pg_temp.pick(k || ':t', 2, 6);
    x := pg_temp.pick(k || ':t2', 2, 9);
    stem := format('A car travels %s miles in %s hours at a constant speed. At that speed, how many miles does it travel in %s hours?',
                   v * c, c, x);
    answer := v * x; d1 := v * c; d2 := v * (x + 1); d3 := v * x + c;
    explanation := format('The speed is %s ÷ %s = %s miles per hour; %s × %s = %s.', v * c, c, v, v, x, v * x);
  when 'math.percentages' then
    c := pg_temp.pick(k || ':j', 1, 19); v := 20 * pg_temp.pick(k || ':k', 1, 20);
    stem := format('What is %s%% of %s?', 5 * c, v);
    answer := c * v / 20; d1 := c * v / 10; d2 := v - c * v / 20; d3 := c * v / 20 + 5;
    explanation := format('%s%% of %s is %s × %s / 100 = %s.', 5 * c, v, 5 * c, v, c * v / 20);
  when 'math.statistics_center' then
    v := pg_temp.pick(k || ':m', 30, 40);
    a := pg_temp.pick(k || ':v1', 10, 35); b := pg_temp.pick(k || ':v2', 10, 35);
    c := pg_temp.pick(k || ':v3', 10, 35); x := pg_temp.pick(k || ':v4', 10, 35);
    stem := format('The mean of five numbers is %s. Four of the numbers are %s, %s, %s and %s. What is the fifth number?',
                   v, a, b, c, x);
    answer := 5 * v - (a + b + c + x); d1 := v; d2 := 5 * v - (a + b + c + x) + 5; d3 := round((a + b + c + x) / 4.0);
    explanation := format('The five numbers sum to 5 × %s = %s; subtract the four known numbers.', v, 5 * v);
  when 'math.area_perimeter' then
    a := pg_temp.pick(k || ':l', 3, 20); b := pg_temp.pick(k || ':w', 2, 15);
    if variant = 1 then
      stem := format('A rectangle has a length of %s cm and a width of %s cm. What is its perimeter, in centimeters?', a, b);
      answer := 2 * (a + b); d1 := a * b; d2 := a + b; d3 := 2 * a + b;
      explanation := 'Perimeter = 2 × (length + width).';
    else
      stem := format('A rectangle has a length of %s cm and a width of %s cm. What is its area, in square centimeters?', a, b);
      answer := a * b; d1 := 2 * (a + b); d2 := a * b + a; d3 := a + b;
      explanation := 'Area = length × width.';
    end if;
  when 'math.pythagorean_theorem' then
    stem := format('A right triangle has legs of length %s and %s. What is the length of its hypotenuse?',
                   triple[1] * scale, triple[2] * scale);
    answer := triple[3] * scale; d1 := (triple[1] + triple[2]) * scale; d2 := triple[3] * scale + 2;
    d3 := triple[2] * scale + 1;
    explanation := format('c² = %s² + %s², so c = %s.', triple[1] * scale, triple[2] * scale, triple[3] * scale);
  when 'math.right_triangle_trig' then
    numeric_ok := false;
    stem := format('In right triangle ABC, angle C is the right angle, AC = %s, BC = %s and AB = %s. What is %s?',
                   triple[1] * scale, triple[2] * scale, triple[3] * scale,
                   (array['sin A', 'cos A', 'tan A'])[variant + 1]);
    answer := (array[triple[2] || '/' || triple[3], triple[1] || '/' || triple[3], triple[2] || '/' || triple[1]])[variant + 1];
    d1 := (array[triple[1] || '/' || triple[3], triple[2] || '/' || triple[3], triple[1] || '/' || triple[2]])[variant + 1];
    d2 := (array[triple[2] || '/' || triple[1], triple[2] || '/' || triple[1], triple[2] || '/' || triple[3]])[variant + 1];
    d3 := (array[triple[3] || '/' || triple[2], triple[3] || '/' || triple[1], triple[1] || '/' || triple[3]])[variant + 1];
    explanation := 'SOH-CAH-TOA: sine = opposite/hypotenuse, cosine = adjacent/hypotenuse, tangent = opposite/adjacent.';
  when 'rw.central_ideas' then
    numeric_ok := false;
    stem := format('A short passage describes work on %s, noting early setbacks and recent successes. Which choice best states the main idea of the passage?', noun);
    answer := format('Despite early setbacks, work on %s has recently made real progress.', noun);
    d1 := format('Work on %s was abandoned because of its early setbacks.', noun);
    d2 := format('Experts disagree about whether %s deserves study at all.', noun);
    d3 := format('The passage mainly lists the costs of %s.', noun);
    explanation := 'The main idea must cover both the setbacks and the later successes.';
  when 'rw.command_of_evidence' then
    numeric_ok := false;
    stem := format('A student claims that interest in %s grew sharply after 1990. Which finding would most directly support this claim?', noun);
    answer := format('The number of published studies on %s tripled between 1990 and 2000.', noun);
    d1 := format('Some early observers of %s worked alone.', noun);
    d2 := format('Interest in %s was first recorded before 1900.', noun);
    d3 := format('Several museums display objects related to %s.', noun);
    explanation := 'Only a measured change after 1990 supports a claim about growth after 1990.';
  when 'rw.inferences' then
    numeric_ok := false;
    stem := format('Projects on %s succeeded only where local volunteers were trained first. Which choice most logically completes the text? Projects without trained volunteers ____', noun);
    answer := 'were less likely to succeed.'; d1 := 'needed no further funding.';
    d2 := 'were always completed early.'; d3 := 'had more volunteers than they needed.';
    explanation := 'If training was necessary for success, projects without it were less likely to succeed.';
  when 'rw.words_in_context' then
    numeric_ok := false;
    facts := (array[
      array['novel', 'The team proposed a novel approach to %s.', 'new', 'fictional', 'lengthy', 'reluctant'],
      array['sound', 'The argument about %s rests on sound evidence.', 'reliable', 'noisy', 'healthy', 'brief'],
      array['check', 'New rules were meant to check the growth of %s.', 'restrain', 'examine', 'mark', 'pay for'],
      array['qualified', 'The reviewer offered only qualified praise for the book on %s.', 'limited', 'certified', 'enthusiastic', 'skilled'],
      array['arrest', 'Researchers hoped to arrest the decline of %s.', 'halt', 'detain', 'attract', 'seize'],
      array['appreciate', 'Few readers appreciate how complex %s really is.', 'recognize', 'enjoy', 'increase in value', 'thank']
    ])[pg_temp.pick(k || ':word', 1, 6):pg_temp.pick(k || ':word', 1, 6)];
    stem := format('%s As used in the text, what does the word "%s" most nearly mean?', format(facts[1][2], noun), facts[1][1]);
    answer := facts[1][3]; d1 := facts[1][4]; d2 := facts[1][5]; d3 := facts[1][6];
    explanation := format('In this context "%s" means "%s".', facts[1][1], facts[1][3]);
  when 'rw.text_structure' then
    numeric_ok := false;
    stem := format('A passage first presents a common view of %s, then introduces new evidence, and finally revises that view. Which choice best describes the structure of the passage?', noun);
    answer := 'It challenges an assumption and offers a revised account.';
    d1 := 'It narrates events in strict chronological order.'; d2 := 'It compares two unrelated subjects.';
    d3 := 'It lists several definitions without evaluating them.';
    explanation := 'View → counter-evidence → revision is a challenge-and-revise structure.';
  when 'rw.cross_text_connections' then
    numeric_ok := false;
    stem := format('Text 1 argues that %s is best studied in the field. Text 2 reports laboratory results that overturn a field observation. How would the author of Text 2 most likely respond to Text 1?', noun);
    answer := 'By arguing that laboratory work can reveal what field studies miss.';
    d1 := 'By agreeing that laboratory work is unnecessary.'; d2 := 'By praising Text 1 for its statistics.';
    d3 := 'By claiming that field studies are always wrong.';
    explanation := 'Text 2''s evidence comes from the lab and corrects the field, so its author would defend lab work.';
  when 'rw.transitions' then
    numeric_ok := false;
    if variant = 0 then
      stem := format('The first trials of %s failed. ____ the second round exceeded every target. Which choice completes the text with the most logical transition?', noun);
      answer := 'However,'; d1 := 'Similarly,'; d2 := 'For example,'; d3 := 'Therefore,';
    elsif variant = 1 then
      stem := format('Funding for %s doubled last year. ____ the team was able to hire new staff. Which choice completes the text with the most logical transition?', noun);
      answer := 'As a result,'; d1 := 'However,'; d2 := 'In contrast,'; d3 := 'Nevertheless,';
    else
      stem := format('Many cities now support %s. ____ Lisbon opened three new sites last year. Which choice completes the text with the most logical transition?', noun);
      answer := 'For example,'; d1 := 'However,'; d2 := 'Instead,'; d3 := 'Still,';
    end if;
    explanation := 'Identify the relationship (contrast, consequence or example) between the two sentences.';
  when 'rw.rhetorical_synthesis' then
    numeric_ok := false;
    stem := format('A student''s notes say that research on %s began in the last decade. The student wants to emphasize how recent the research is. Which choice best accomplishes this goal?', noun);
    answer := format('Research on %s began only in the last decade.', noun);
    d1 := format('Research on %s involves many scientists.', noun);
    d2 := format('Many books have been written about %s.', noun);
    d3 := format('Some people find %s fascinating.', noun);
    explanation := 'Only the first choice uses the note about timing.';
  when 'rw.concision' then
    numeric_ok := false;
    stem := format('The committee reviewed the proposal on %s ____ and approved it. Which choice completes the text most concisely?', noun);
    answer := 'carefully'; d1 := 'in a careful manner and with care'; d2 := 'carefully, doing so with care,';
    d3 := 'with a carefulness that was careful';
    explanation := 'The other choices repeat the same idea.';
  when 'rw.subject_verb_agreement' then
    numeric_ok := false;
    if variant = 0 then
      stem := format('The collection of essays about %s ____ on the top shelf. Which choice conforms to the conventions of Standard English?', noun);
      answer := 'sits'; d1 := 'sit'; d2 := 'are sitting'; d3 := 'have sat';
    else
      stem := format('Each of the reports on %s ____ a one-page summary. Which choice conforms to the conventions of Standard English?', noun);
      answer := 'includes'; d1 := 'include'; d2 := 'are including'; d3 := 'have included';
    end if;
    explanation := 'The subject is singular, so the verb must be singular.';
  when 'rw.verb_tense' then
    numeric_ok := false;
    stem := format('By the time the report on %s was published, researchers ____ data for five years. Which choice conforms to the conventions of Standard English?', noun);
    answer := 'had collected'; d1 := 'collect'; d2 := 'will collect'; d3 := 'are collecting';
    explanation := 'An action completed before another past action takes the past perfect.';
  when 'rw.punctuation_boundaries' then
    numeric_ok := false;
    stem := format('The study of %s has a long ____ in the nineteenth century. Which choice conforms to the conventions of Standard English?', noun);
    answer := 'history; it began'; d1 := 'history it began'; d2 := 'history, it began'; d3 := 'history, and, it began';
    explanation := 'Two independent clauses can be joined by a semicolon, not by a comma alone.';
  when 'sci.atomic_structure' then
    a := pg_temp.pick(k || ':p', 1, 30); b := a + pg_temp.pick(k || ':nn', 0, 10);
    stem := format('An atom has %s protons and %s neutrons. What is its mass number?', a, b);
    answer := a + b; d1 := a; d2 := b; d3 := a + b + 1;
    explanation := 'Mass number = protons + neutrons.';
  when 'sci.stoichiometry' then
    if variant = 0 then
      stem := format('In the reaction 2 H₂ + O₂ → 2 H₂O, how many moles of water form when %s moles of H₂ react with excess oxygen?', a + b);
      answer := a + b; d1 := 2 * (a + b); d2 := a + b + 1; d3 := a + b + 2;
      explanation := 'H₂ and H₂O are in a 2:2 ratio.';
    else
      stem := format('In the reaction 2 H₂ + O₂ → 2 H₂O, how many moles of O₂ are needed to react completely with %s moles of H₂?', 2 * a);
      answer := a; d1 := 2 * a; d2 := 4 * a; d3 := a + 1;
      explanation := 'H₂ and O₂ react in a 2:1 ratio.';
    end if;
  when 'sci.acids_bases' then
    a := pg_temp.pick(k || ':ph', 1, 13);
    stem := format('A solution has a hydrogen ion concentration of 1 × 10^-%s M. What is its pH?', a);
    answer := a; d1 := 14 - a; d2 := a + 1; d3 := a + 2;
    explanation := 'pH = −log[H⁺].';
  when 'sci.kinematics' then
    a := pg_temp.pick(k || ':acc', 1, 6); b := pg_temp.pick(k || ':t', 2, 10);
    stem := format('A cart starts from rest and accelerates uniformly at %s m/s² for %s s. What is its final speed, in m/s?', a, b);
    answer := a * b; d1 := a * b * b; d2 := a + b; d3 := a * b + a;
    explanation := 'v = a·t for motion from rest.';
  when 'sci.newtons_laws' then
    a := pg_temp.pick(k || ':acc', 1, 6); b := pg_temp.pick(k || ':m', 2, 20);
    stem := format('A net force of %s N acts on a %s kg object. What is the object''s acceleration, in m/s²?', a * b, b);
    answer := a; d1 := a * b * b; d2 := a + 1; d3 := b;
    explanation := 'a = F / m.';
  when 'sci.energy_conservation' then
    a := pg_temp.pick(k || ':m', 1, 10); b := pg_temp.pick(k || ':h', 2, 20);
    stem := format('A %s kg ball is dropped from rest from a height of %s m. Ignoring air resistance and using g = 10 m/s², what is its kinetic energy, in joules, just before it hits the ground?', a, b);
    answer := 10 * a * b; d1 := a * b; d2 := 5 * a * b; d3 := 10 * a * b + 10;
    explanation := 'All potential energy m·g·h becomes kinetic energy.';
  when 'sci.cell_biology' then
    numeric_ok := false;
    facts := (array[
      array['Which organelle is the main site of ATP production?', 'mitochondrion', 'ribosome', 'Golgi apparatus', 'lysosome'],
      array['Which structure controls which substances enter and leave the cell?', 'cell membrane', 'nucleolus', 'centriole', 'ribosome'],
      array['Where are proteins assembled?', 'ribosomes', 'lysosomes', 'vacuoles', 'centrioles'],
      array['Which organelle contains most of the cell''s DNA?', 'nucleus', 'mitochondrion', 'Golgi apparatus', 'endoplasmic reticulum'],
      array['Which organelle packages and ships proteins?', 'Golgi apparatus', 'nucleus', 'ribosome', 'mitochondrion']
    ])[pg_temp.pick(k || ':fact', 1, 5):pg_temp.pick(k || ':fact', 1, 5)];
    stem := format('A student examines %s cells under a microscope. %s',
      (array['onion epidermis', 'cheek', 'yeast', 'liver', 'root-tip', 'muscle'])[pg_temp.pick(k || ':spec', 1, 6)], facts[1][1]);
    answer := facts[1][2]; d1 := facts[1][3]; d2 := facts[1][4]; d3 := facts[1][5];
    explanation := format('The %s performs this function.', facts[1][2]);
  when 'sci.genetics' then
    v := pg_temp.pick(k || ':cross', 1, 4);
    stem := format('In pea plants, tall (T) is dominant to short (t). What percentage of the offspring of a %s cross are expected to be short?',
                   (array['Tt × Tt', 'Tt × tt', 'TT × tt', 'tt × tt'])[v]);
    answer := (array[25, 50, 0, 100])[v]; d1 := (array[75, 25, 50, 50])[v]; d2 := (array[50, 75, 25, 75])[v];
    d3 := (array[0, 100, 100, 25])[v];
    explanation := 'Use a Punnett square: short plants are tt.';
  when 'sci.ecology' then
    a := 1000 * pg_temp.pick(k || ':e', 2, 30);
    stem := format('Producers in a food chain store %s kJ of energy. Using the 10%% rule, about how much energy, in kJ, reaches the secondary consumers?', a);
    answer := a / 100; d1 := a / 10; d2 := a / 1000; d3 := a / 2;
    explanation := 'About 10% passes to each level: producers → primary (10%) → secondary (1%).';
  when 'sci.reading_graphs' then
    a := pg_temp.pick(k || ':rate', 2, 9); b := pg_temp.pick(k || ':h0', 3, 20); c := pg_temp.pick(k || ':w', 2, 8);
    stem := format('A graph shows a plant''s height increasing linearly by %s cm per week from %s cm at week 0. What height, in cm, does the graph show at week %s?', a, b, c);
    answer := b + a * c; d1 := a * c; d2 := b + a * (c + 1); d3 := b + a;
    explanation := 'Height = starting height + rate × weeks.';
  when 'sci.experimental_design' then
    numeric_ok := false;
    facts := (array[
      array['light intensity', 'the growth of bean plants', 'the amount of water given to each plant', 'the final plant height', 'the number of leaves counted'],
      array['water temperature', 'how quickly sugar dissolves', 'the mass of sugar added', 'the dissolving time', 'the color of the cup'],
      array['fertilizer concentration', 'tomato yield', 'the type of soil', 'the tomato yield', 'the date of the harvest'],
      array['exercise duration', 'heart rate', 'the age of the participants', 'the measured heart rate', 'the time of the final reading']
    ])[pg_temp.pick(k || ':exp', 1, 4):pg_temp.pick(k || ':exp', 1, 4)];
    if variant = 0 then
      stem := format('A student tests whether %s affects %s. What is the independent variable?', facts[1][1], facts[1][2]);
      answer := facts[1][1]; d1 := facts[1][3]; d2 := facts[1][4]; d3 := facts[1][5];
    else
      stem := format('A student tests whether %s affects %s. Which variable should be held constant across all groups?', facts[1][1], facts[1][2]);
      answer := facts[1][3]; d1 := facts[1][1]; d2 := facts[1][4]; d3 := facts[1][5];
    end if;
    explanation := 'The independent variable is changed on purpose; other conditions are controlled.';
  when 'sci.hypothesis_evaluation' then
    numeric_ok := false;
    v := pg_temp.pick(k || ':hyp', 1, 2);
    stem := format('A scientist hypothesizes that warmer water speeds up a reaction. In the experiment, the reaction %s. Which statement best describes this result?',
                   (array['finished faster at 40 °C than at 20 °C', 'took just as long at 40 °C as at 20 °C'])[v]);
    answer := (array['It supports the hypothesis.', 'It weakens the hypothesis.'])[v];
    d1 := (array['It weakens the hypothesis.', 'It supports the hypothesis.'])[v];
    d2 := 'It proves the hypothesis beyond any doubt.'; d3 := 'It is unrelated to the hypothesis.';
    explanation := 'Compare the observed change with the predicted change.';
  else
    raise exception 'no item template for skill %', p_skill;
  end case;
  return next;
end;
$$;

-- ── questions, tagging, keys ────────────────────────────────────────────────────────────────
create temp table seed_items on commit drop as
with base as (
  select s.id as skill_id, s.code, s.position as skill_position, t.id as topic_id, sub.exam_section,
         g.n, s.code || ':' || g.n as k
  from public.skills s
  join public.topics t on t.id = s.topic_id
  join public.subjects sub on sub.id = t.subject_id
  cross join generate_series(1, 20) as g(n)
)
select b.*, i.*,
       case when pg_temp.unit(b.k || ':diff') < 0.30 then 'easy'
            when pg_temp.unit(b.k || ':diff') < 0.75 then 'medium' else 'hard' end as difficulty_label,
       case when i.numeric_ok and pg_temp.unit(b.k || ':type') < 0.4 then 'numeric'
            else 'multiple_choice' end as question_type,
       pg_temp.pick(b.k || ':off', 0, 3) as option_offset,
       case when pg_temp.unit(b.k || ':tags') < 0.55 then 1
            when pg_temp.unit(b.k || ':tags') < 0.90 then 2 else 3 end as n_skills,
       format('%s.%s', b.code, lpad(b.n::text, 3, '0')) as external_ref
from base b
cross join lateral pg_temp.make_item(b.code, b.n) as i;

-- distinct distractors (a template can collide for some numbers, e.g. x − y = y)
update seed_items s
   set d1 = f.d[1], d2 = f.d[2], d3 = f.d[3]
from (
  select si.external_ref, array(
           select coalesce(nullif(c.val, ''), '') from unnest(array[si.d1, si.d2, si.d3]) with ordinality as c(val, pos)
           order by c.pos) as raw, si.answer
  from seed_items si
) r
cross join lateral (
  select array_agg(fixed order by pos) as d
  from (
    select c.pos,
           case when c.val = r.answer
                  or c.val = any (r.raw[1:c.pos - 1])
                then case when r.answer ~ '^-?\d+$' then (r.answer::integer + 10 + c.pos)::text
                          else c.val || ' only' end
                else c.val end as fixed
    from unnest(r.raw) with ordinality as c(val, pos)
  ) x
) f
where s.external_ref = r.external_ref;

insert into public.questions (external_ref, topic_id, question_type, difficulty_label, exam_section, stem,
                              options, expected_time_seconds)
select si.external_ref, si.topic_id, si.question_type, si.difficulty_label, si.exam_section, si.stem,
       case when si.question_type = 'multiple_choice' then (
         select jsonb_agg(jsonb_build_object('key', chr(65 + o.i),
                  'text', (array[si.answer, si.d1, si.d2, si.d3])[((o.i + si.option_offset) % 4) + 1]) order by o.i)
         from generate_series(0, 3) as o(i)) end,
       (case si.exam_section when 'math' then 75 when 'reading_writing' then 70 else 80 end)
         + (case si.difficulty_label when 'easy' then -15 when 'hard' then 30 else 0 end)
from seed_items si
order by si.skill_id, si.n;

insert into public.question_answer_keys (question_id, correct_answer, explanation)
select q.id,
       case when si.question_type = 'multiple_choice'
            then jsonb_build_array(chr(65 + (4 - si.option_offset) % 4))
            else jsonb_build_array(si.answer) end,
       si.explanation
from seed_items si
join public.questions q on q.external_ref = si.external_ref;

-- primary skill + (n_skills − 1) related skills: its prerequisites first, then topic siblings.
-- Elo difficulty (1200-centred): label base (private.label_elo_base, the one definition of the bases,
-- 20261207140000_label_seed_difficulty.sql) + skill position + jitter; secondary skills are exercised at an
-- easier level than the primary one.
insert into public.question_skills (question_id, skill_id, weight, elo_difficulty)
select q.id, tag.skill_id,
       (case si.n_skills when 1 then array[1.0] when 2 then array[0.7, 0.3] else array[0.6, 0.25, 0.15] end)[tag.ord],
       round((private.label_elo_base(si.difficulty_label)
         + 40 * (si.skill_position - 2)
         + 120 * (pg_temp.unit(si.k || ':elo' || tag.ord) - 0.5)
         - case when tag.ord > 1 then 150 else 0 end)::numeric, 1)::double precision
from seed_items si
join public.questions q on q.external_ref = si.external_ref
cross join lateral (
  select c.skill_id, c.ord::integer as ord
  from unnest(array[si.skill_id] || array(
         select x.skill_id from (
           select sp.prerequisite_skill_id as skill_id, 0 as grp, sp.prerequisite_skill_id as sort_key
           from public.skill_prerequisites sp where sp.skill_id = si.skill_id
           union all
           select s2.id, 1, (s2.position + si.n) % 3
           from public.skills s2 where s2.topic_id = si.topic_id and s2.id <> si.skill_id
             and not exists (select 1 from public.skill_prerequisites sp2
                             where sp2.skill_id = si.skill_id and sp2.prerequisite_skill_id = s2.id)
         ) x order by x.grp, x.sort_key)) with ordinality as c(skill_id, ord)
  where c.ord <= si.n_skills
) tag;

-- IRT 3PL starting values consistent with the Elo scale: b = (elo − 1200) · ln 10 / 400.
insert into public.question_difficulty_params (question_id, discrimination, difficulty, guessing)
select q.id,
       round((0.7 + 1.1 * pg_temp.unit(si.k || ':a'))::numeric, 3)::double precision,
       round(((qs.elo_difficulty - 1200) * ln(10) / 400)::numeric, 3)::double precision,
       case when si.question_type = 'multiple_choice'
            then round((0.18 + 0.07 * pg_temp.unit(si.k || ':c'))::numeric, 3)::double precision
            else 0 end
from seed_items si
join public.questions q on q.external_ref = si.external_ref
join public.question_skills qs on qs.question_id = q.id and qs.skill_id = si.skill_id;

-- BKT defaults per skill (refitted nightly once data exists).
insert into public.bkt_params (skill_id, p_init, p_learn, p_guess, p_slip, p_forget)
select s.id,
       round((0.15 + 0.15 * pg_temp.unit(s.code || ':init'))::numeric, 3)::double precision,
       round((0.08 + 0.12 * pg_temp.unit(s.code || ':learn'))::numeric, 3)::double precision,
       case when sub.code = 'reading_writing' then 0.25 else 0.18 end,
       round((0.06 + 0.06 * pg_temp.unit(s.code || ':slip'))::numeric, 3)::double precision,
       0.02
from public.skills s
join public.topics t on t.id = s.topic_id
join public.subjects sub on sub.id = t.subject_id;
