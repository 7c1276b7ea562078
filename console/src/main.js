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
  render(html`<${App} config=${config} />`, document.getElementById('app'));
}

start();
