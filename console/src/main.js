import { render } from 'preact';
import { html } from './html.js';
import { App } from './app.js';
import { completeOidcSignIn } from './auth.js';
import './style.css';

async function start() {
  const config = await fetch('/console/config.json').then((r) => r.json());
  try {
    await completeOidcSignIn(config.oidc);
  } catch (e) {
    config.signInError = e.message;
  }
  const root = document.getElementById('app');
  root.textContent = ''; // the "Loading" line is not Preact's to diff
  render(html`<${App} config=${config} />`, root);
}

start();
