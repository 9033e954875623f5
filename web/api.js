// The page's only way to the backend: supabase-js. Functions through `functions.invoke` with the learner's JWT,
// the learner's own rows through REST (PostgREST under RLS).
//
// Two ways to sign in, picked by config.json:
// - local stack (`devSignIn` set): the gateway's dev-only route mints a token for a demo learner; supabase-js
//   gets it through its `accessToken` option (no Supabase Auth on the local stack);
// - hosted Supabase: Supabase Auth (email and password) and the session supabase-js keeps.
import { createClient } from './vendor/supabase-js.mjs';
import { fromFunctionsError, fromRestError, LearnerError } from './errors.js';

const DEV_TOKEN_KEY = 'sp.devToken';

export async function loadConfig() {
  const response = await fetch('config.json', { cache: 'no-cache' });
  if (!response.ok) throw new LearnerError('This page is not set up: config.json is missing.');
  return response.json();
}

function storedDevToken() {
  try {
    return JSON.parse(sessionStorage.getItem(DEV_TOKEN_KEY) ?? 'null');
  } catch {
    return null;
  }
}

export class Backend {
  constructor(config) {
    this.config = config;
    this.dev = Boolean(config.devSignIn);
    const options = this.dev ? { accessToken: async () => storedDevToken()?.access_token ?? null } : {};
    this.client = createClient(config.supabaseUrl, config.supabaseKey, options);
    // Cloud Functions live at their own URL on hosted (README, "Deploying"); locally /functions/v1 of the gateway.
    if (config.functionsUrl) this.client.functionsUrl = new URL(config.functionsUrl);
  }

  /** {id, email} of the signed-in learner, or null. */
  async user() {
    if (this.dev) return storedDevToken()?.user ?? null;
    const { data } = await this.client.auth.getSession();
    return data.session ? { id: data.session.user.id, email: data.session.user.email } : null;
  }

  /** Local stack: a new demo learner (learner = null) or an existing one by id. */
  async devSignIn(learner = null) {
    const response = await fetch(this.config.devSignIn, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(learner ? { learner } : {}),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new LearnerError(body.error?.code === 'not_found'
        ? 'There is no demo learner with that id.' : 'Signing in did not work. Please try again.');
    }
    sessionStorage.setItem(DEV_TOKEN_KEY, JSON.stringify(body));
    return body.user;
  }

  /** Hosted: Supabase Auth with email and password. */
  async signIn(email, password) {
    const { data, error } = await this.client.auth.signInWithPassword({ email, password });
    if (error) throw new LearnerError('That email and password did not match an account.');
    return { id: data.user.id, email: data.user.email };
  }

  async signOut() {
    if (this.dev) sessionStorage.removeItem(DEV_TOKEN_KEY);
    else await this.client.auth.signOut();
  }

  /** POST a function with the learner's JWT; its JSON body, or a LearnerError from its error body. */
  async invoke(name, body) {
    const { data, error } = await this.client.functions.invoke(name, { body, method: 'POST' });
    if (error) throw await fromFunctionsError(error);
    return data;
  }

  /** Runs a supabase-js REST query builder; its rows, or a LearnerError. */
  async rest(query) {
    const { data, error, status } = await query;
    if (error) throw fromRestError(error, status);
    return data;
  }

  from(table) {
    return this.client.from(table);
  }
}
