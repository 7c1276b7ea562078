// Small shared pieces of the pages: loading data, showing an API error, the hash route.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { html } from './html.js';

/** Runs an async loader when its key changes; returns {data, error, loading, reload}. */
export function useLoad(loader, key) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true, error: null }));
    loader().then(
      (data) => current && setState({ data, error: null, loading: false }),
      (error) => current && setState({ data: null, error, loading: false }),
    );
    return () => { current = false; };
  }, [key, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return { ...state, reload };
}

export function Problem({ error }) {
  if (!error) return null;
  const status = error.status ? `${error.status} ` : '';
  return html`<p class="problem" role="alert">${status}${error.message}</p>`;
}

export function Loading({ what }) {
  return html`<p class="loading">Loading ${what}…</p>`;
}

/** The current hash route as path segments: #/sessions/abc → ['sessions', 'abc']. */
export function useRoute() {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const changed = () => setRoute(read());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}

export function go(...segments) {
  location.hash = '#/' + segments.map(encodeURIComponent).join('/');
}

/** A button that runs an async action once at a time and reports its error. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = useCallback(async (action) => {
    setBusy(true);
    setError(null);
    try {
      return await action();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run };
}
