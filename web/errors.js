// Learner-readable messages from the error bodies the page meets:
// - the functions: {"error": {"code", "message", "fields", "request_id", "retryable"}} (README, "The functions"),
//   with Retry-After on 429 and retryable 503s;
// - PostgREST (REST reads and the goal upsert): {"code", "message", "details", "hint"} and the HTTP status.
import { FunctionsFetchError, FunctionsHttpError } from './vendor/supabase-js.mjs';

const SIGN_IN_AGAIN = 'Your session has expired. Please sign in again.';

const BY_CODE = {
  token_expired: SIGN_IN_AGAIN,
  PGRST301: SIGN_IN_AGAIN,
  PGRST303: SIGN_IN_AGAIN,
  rate_limited: 'You are going faster than we can keep up with. Please wait {retry} and try again.',
  session_not_active: 'This practice session has ended. Start a new one.',
  session_not_found: 'We could not find this practice session. Start a new one.',
  session_target_reached: 'You have answered every question of this session. Finish it to see your summary.',
  question_already_answered: 'You have already answered this question.',
  question_not_served: 'This question is not part of your session any more. Ask for the next one.',
  idempotency_key_reused: 'That answer was already sent with different details. Ask for the next question.',
  transaction_conflict: 'Your answer crossed another update. Please send it again.',
  server_misconfigured: 'The practice service is not set up correctly. Please let your teacher or support know.',
  payload_too_large: 'That answer is too long.',
  '23514': 'One of the values is not allowed. Please check the form.',
};

const BY_STATUS = {
  401: SIGN_IN_AGAIN,
  403: 'You are not allowed to do that.',
  404: 'We could not find what you asked for.',
  409: 'That clashed with something that changed meanwhile. Please try again.',
  429: 'You are going faster than we can keep up with. Please wait {retry} and try again.',
  503: 'The practice service is busy right now. Please try again {retry}.',
};

export class LearnerError extends Error {
  constructor(text, { status = 0, code = '', retryAfter = null, requestId = '', fields = [] } = {}) {
    super(text);
    Object.assign(this, { status, code, retryAfter, requestId, fields });
  }

  get signedOut() { return this.status === 401 || this.text === SIGN_IN_AGAIN; }
  get text() { return this.message; }
}

function retryText(seconds, inForm) {
  if (!seconds) return inForm ? 'a moment' : 'in a moment';
  const n = Math.max(1, Math.round(seconds));
  const span = n >= 90 ? `${Math.ceil(n / 60)} minutes` : `${n} second${n === 1 ? '' : 's'}`;
  return inForm ? span : `in ${span}`;
}

export function messageFor({ status, code, retryAfter, requestId, fields }) {
  let template = BY_CODE[code] ?? BY_STATUS[status];
  if (!template && (code === 'validation_error' || code === 'invalid_value' || status === 400)) {
    const first = (fields ?? [])[0];
    template = first ? `Please check "${first.field}": ${first.message}` : 'Please check what you entered.';
  }
  if (!template) {
    template = status >= 500
      ? `Something went wrong on our side. Please try again later${requestId ? ` (reference ${requestId})` : ''}.`
      : 'Something went wrong. Please try again.';
  }
  const inForm = template.includes('wait {retry}');
  return template.replace('{retry}', retryText(retryAfter, inForm));
}

/** A functions.invoke error as a LearnerError (reads the error body the function sent). */
export async function fromFunctionsError(error) {
  if (error instanceof FunctionsHttpError) {
    const response = error.context;
    const retryAfter = Number(response.headers.get('Retry-After')) || null;
    let body = {};
    try { body = (await response.json()).error ?? {}; } catch { /* not JSON: keep the status */ }
    const info = { status: response.status, code: body.code ?? '', retryAfter, requestId: body.request_id ?? '',
                   fields: body.fields ?? [] };
    return new LearnerError(messageFor(info), info);
  }
  if (error instanceof FunctionsFetchError) {
    return new LearnerError('We could not reach the practice service. Check your connection and try again.');
  }
  return new LearnerError(messageFor({ status: 500 }), { status: 500 });
}

/** A supabase-js REST error ({code, message, ...}) with the response status. */
export function fromRestError(error, status) {
  const info = { status: status ?? 0, code: error?.code ?? '', retryAfter: null, requestId: '', fields: [] };
  if (!status && !info.code) {
    return new LearnerError('We could not reach the practice service. Check your connection and try again.');
  }
  return new LearnerError(messageFor(info), info);
}
