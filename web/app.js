// The reference client's shell: configuration, sign-in, the three views (hash routes) and the error banner.
import { Backend, loadConfig } from './api.js';
import { h } from './dom.js';
import { LearnerError } from './errors.js';
import { renderGoal } from './goal.js';
import { renderPractice } from './practice.js';
import { renderProgress } from './progress.js';

const VIEWS = { practice: renderPractice, progress: renderProgress, goal: renderGoal };
const view = document.getElementById('view');
const banner = document.getElementById('message');
const nav = document.getElementById('nav');
const account = document.getElementById('account');

function showMessage(text) {
  banner.textContent = text;
  banner.hidden = !text;
}

function setBusy(busy) {
  view.setAttribute('aria-busy', String(busy));
  document.body.dataset.state = busy ? 'busy' : 'idle';
}

function main(backend) {
  let user = null;
  const ctx = {
    backend,
    view,
    // Runs one learner action: disables its control meanwhile, turns any failure into the banner's message.
    async run(control, action) {
      showMessage('');
      setBusy(true);
      if (control) control.toggleAttribute('inert', true);
      try {
        await action();
      } catch (error) {
        const learnerError = error instanceof LearnerError ? error : new LearnerError(
          'Something went wrong. Please reload the page and try again.');
        if (!(error instanceof LearnerError)) console.error(error);
        showMessage(learnerError.text);
        if (learnerError.signedOut) await signOut(learnerError.text);
      } finally {
        if (control) control.toggleAttribute('inert', false);
        setBusy(false);
      }
    },
  };

  async function signOut(message = '') {
    await backend.signOut();
    user = null;
    renderSignIn();
    showMessage(message);
  }

  function renderAccount() {
    nav.hidden = !user;
    account.replaceChildren();
    if (!user) return;
    const out = h('button', { type: 'button', class: 'link', id: 'sign-out' }, 'Sign out');
    out.addEventListener('click', () => signOut());
    account.append(h('span', { id: 'signed-in-as', dataset: { userId: user.id } }, user.email || user.id), ' ', out);
  }

  function route() {
    if (!user) return;
    const name = location.hash.slice(1) in VIEWS ? location.hash.slice(1) : 'practice';
    for (const link of nav.querySelectorAll('a')) {
      if (link.dataset.view === name) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    view.replaceChildren(h('p', {}, 'Loading…'));
    ctx.run(null, async () => {
      await VIEWS[name](ctx, user);
      document.body.dataset.view = name;
    });
  }

  function renderSignIn() {
    renderAccount();
    document.body.dataset.view = 'sign-in';
    if (backend.dev) {
      const fresh = h('button', { type: 'button', id: 'new-learner' }, 'Start as a new demo learner');
      fresh.addEventListener('click', () => ctx.run(fresh, async () => signedIn(await backend.devSignIn())));
      const form = h('form', { class: 'card', 'aria-labelledby': 'existing-title' },
        h('h2', { id: 'existing-title' }, 'Or continue as a demo learner'),
        h('label', { for: 'learner-id' }, 'Demo learner id'),
        h('input', { id: 'learner-id', name: 'learner', required: true, autocomplete: 'off', spellcheck: 'false' }),
        h('button', { type: 'submit' }, 'Sign in'));
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        ctx.run(form, async () => signedIn(await backend.devSignIn(form.elements.learner.value.trim())));
      });
      view.replaceChildren(h('h1', {}, 'Sign in'),
        h('p', { class: 'hint' }, 'Local stack: demo learners sign in without a password.'),
        h('div', { class: 'card' }, fresh), form);
    } else {
      const form = h('form', { class: 'card', 'aria-labelledby': 'sign-in-title' },
        h('h2', { id: 'sign-in-title' }, 'Sign in with your account'),
        h('label', { for: 'email' }, 'Email'),
        h('input', { id: 'email', name: 'email', type: 'email', required: true, autocomplete: 'username' }),
        h('label', { for: 'password' }, 'Password'),
        h('input', { id: 'password', name: 'password', type: 'password', required: true,
                     autocomplete: 'current-password' }),
        h('button', { type: 'submit' }, 'Sign in'));
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        ctx.run(form, async () => signedIn(await backend.signIn(form.elements.email.value, form.elements.password.value)));
      });
      view.replaceChildren(h('h1', {}, 'Sign in'), form);
    }
    setBusy(false);
  }

  function signedIn(who) {
    user = who;
    renderAccount();
    route();
  }

  window.addEventListener('hashchange', route);
  return { signedIn, renderSignIn, ctx };
}

async function start() {
  try {
    const backend = new Backend(await loadConfig());
    const app = main(backend);
    // `?learner=<uuid>` (the URL `make demo` prints): sign that demo learner in, then drop it from the address.
    const params = new URLSearchParams(location.search);
    const wanted = backend.dev ? params.get('learner') : null;
    let who = await backend.user();
    if (wanted && who?.id !== wanted) {
      await app.ctx.run(null, async () => { who = await backend.devSignIn(wanted); });
    }
    if (wanted) history.replaceState(null, '', location.pathname + location.hash);
    if (who) app.signedIn(who);
    else app.renderSignIn();
  } catch (error) {
    showMessage(error instanceof LearnerError ? error.text : 'This page could not start. Please reload it.');
    setBusy(false);
  }
}

start();
