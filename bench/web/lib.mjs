// bench/web/lib.mjs: helpers shared by the web client benchmarks (perf.mjs, scroll.mjs): REST
// calls against the server under test and users made through the normal register/login path.
import { uniq } from '../../tests/e2e/harness.mjs';

export const kPassword = 'correct horse battery';

export async function api(base, method, path, body, token) {
  const res = await fetch(base + '/api/v1' + path, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : res.json();
}

export async function user(base, name) {
  const username = uniq(name);
  await api(base, 'POST', '/auth/register', { username, password: kPassword, display_name: name });
  const r = await api(base, 'POST', '/auth/login', { username, password: kPassword });
  return { username, token: r.token, id: r.user.id };
}

/** Signs `u` in on `page` and opens the room listed as `title`. */
export async function signInAndOpen(page, base, u, title) {
  await page.goto(base);
  await page.getByLabel('Username').fill(u.username);
  await page.getByLabel('Password').fill(kPassword);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name: new RegExp(`^${title}`) }).click();
}
