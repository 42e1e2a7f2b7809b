// The admin API client. The token lives in this module's variable only: never in storage, never in a cookie,
// so nothing sends it but this code, and a reload forgets it.
let token = null;

export class ApiError extends Error {
  constructor(status, code, message, problems) {
    super(message);
    this.status = status;
    this.code = code;
    this.problems = problems || [];
  }
}

export function setToken(value) {
  token = value;
}

export function signedIn() {
  return token !== null;
}

/** Calls /v1{path}; a string body goes as text (registry YAML), anything else as JSON. Rejects with an ApiError. */
export async function api(method, path, body) {
  const headers = { authorization: `Bearer ${token}`, accept: 'application/json' };
  let payload;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    headers['content-type'] = typeof body === 'string' ? 'application/yaml' : 'application/json';
  }
  let response;
  try {
    response = await fetch(`/v1${path}`, { method, headers, body: payload, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    throw new ApiError(0, 'unreachable', `the node does not answer: ${e.message}`);
  }
  if (response.status === 204) {
    return null;
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch (e) {
    json = null;
  }
  if (!response.ok) {
    const error = json && json.error ? json.error : {};
    const failure = new ApiError(response.status, error.code || `http_${response.status}`, error.message || text, error.problems);
    if (response.status === 401) {
      window.dispatchEvent(new CustomEvent('ceiba:unauthorized', { detail: failure }));
    }
    throw failure;
  }
  return json;
}
