// Every call to the silo's HTTP API, with the signed-in person's bearer token; errors keep the problem detail.
import { currentToken } from './auth.js';

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

export async function api(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  const token = currentToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const reply = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await reply.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!reply.ok) throw new ApiError(reply.status, json?.detail || json?.title || `${method} ${path} answered ${reply.status}`);
  return json;
}

export const enc = encodeURIComponent;

/** "2026-12-01 13:05:07" in UTC, as the CLI shows times. */
export function when(value) {
  if (!value) return '';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString().replace('T', ' ').slice(0, 19);
}
