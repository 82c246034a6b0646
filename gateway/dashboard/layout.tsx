/**
 * The dashboard's frame: the page shell with navigation and the logout form, the login page,
 * the error page, and the stylesheet and the one small script, both served from our own
 * routes so the Content-Security-Policy can forbid every inline script and style and every
 * other origin.
 */
import type { Child, FC } from 'hono/jsx';

export interface Frame {
  /** Where the dashboard is mounted, e.g. `/dashboard`; links are absolute under it. */
  readonly base: string;
  /** The session's CSRF token (absent on the login page). */
  readonly csrf?: string;
}

const PAGES = [
  { path: '/terminal', title: 'Terminal simulator' },
  { path: '/operations', title: 'Operations' },
  { path: '/finance', title: 'Finance' },
] as const;

export const Layout: FC<{ frame: Frame; title: string; active?: string; children?: Child }> = ({ frame, title, active, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{`${title} · palmswitch`}</title>
      <link rel="stylesheet" href={`${frame.base}/assets/dashboard.css`} />
      <script src={`${frame.base}/assets/dashboard.js`} defer></script>
    </head>
    <body>
      <header>
        <strong class="brand">palmswitch</strong>
        {frame.csrf !== undefined && (
          <nav>
            {PAGES.map((page) => (
              <a href={frame.base + page.path} class={active === page.path ? 'active' : undefined}>{page.title}</a>
            ))}
            <form method="post" action={`${frame.base}/logout`} class="inline">
              <input type="hidden" name="_csrf" value={frame.csrf} />
              <button type="submit" class="link">Log out</button>
            </form>
          </nav>
        )}
      </header>
      <main>
        <h1>{title}</h1>
        {children}
      </main>
    </body>
  </html>
);

export const LoginPage: FC<{ frame: Frame; loginCsrf: string; failed: boolean }> = ({ frame, loginCsrf, failed }) => (
  <Layout frame={frame} title="Log in">
    <form method="post" action={`${frame.base}/login`} class="card narrow">
      {failed && <p class="error" role="alert">That admin key is not right.</p>}
      <label for="admin-key">Admin key</label>
      <input id="admin-key" name="adminKey" type="password" autocomplete="current-password" required />
      <input type="hidden" name="_csrf" value={loginCsrf} />
      <button type="submit">Log in</button>
    </form>
  </Layout>
);

export const ErrorPage: FC<{ frame: Frame; status: number; code: string; message: string }> = ({ frame, status, code, message }) => (
  <Layout frame={frame} title={`Error ${status}`}>
    <p class="error" role="alert"><code>{code}</code>: {message}</p>
    {frame.csrf !== undefined && <p><a href={`${frame.base}/terminal`}>Back to the dashboard</a></p>}
  </Layout>
);

export const STYLESHEET = `
:root { --fg:#1c2430; --muted:#5b6675; --line:#d9dee5; --bg:#f6f7f9; --ok:#17803d; --bad:#b42318; --warn:#b54708; --accent:#2855c5; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; align-items:center; gap:24px; padding:10px 24px; background:#101828; color:#fff; }
header a, header button.link { color:#d0d5dd; text-decoration:none; margin-right:16px; }
header a.active { color:#fff; font-weight:600; }
.brand { font-size:16px; }
main { padding:16px 24px 48px; max-width:1200px; }
h1 { font-size:20px; margin:8px 0 16px; }
h2 { font-size:16px; margin:24px 0 8px; }
h3 { font-size:14px; margin:16px 0 6px; }
.card { background:#fff; border:1px solid var(--line); border-radius:6px; padding:14px 16px; margin-bottom:16px; }
.narrow { max-width:360px; }
.grid { display:grid; grid-template-columns:repeat(auto-fit, minmax(180px, 1fr)); gap:12px; }
.figure { font-size:22px; font-weight:600; }
.muted { color:var(--muted); }
label { display:block; margin:8px 0 4px; font-weight:600; }
input, select { font:inherit; padding:6px 8px; border:1px solid var(--line); border-radius:4px; min-width:220px; }
button { font:inherit; padding:7px 14px; margin-top:12px; border:0; border-radius:4px; background:var(--accent); color:#fff; cursor:pointer; }
button[disabled] { opacity:.6; cursor:wait; }
button.link { background:none; padding:0; margin:0; }
form.inline { display:inline; }
.row { display:flex; gap:16px; flex-wrap:wrap; align-items:flex-end; }
table { border-collapse:collapse; width:100%; background:#fff; }
th, td { text-align:left; padding:4px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-weight:600; color:var(--muted); }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
table.kv th { width:200px; }
table.fields td:first-child { width:48px; }
table.fields td:nth-child(2) { width:38%; }
code, .mono { font-family:ui-monospace, monospace; font-size:13px; }
.badge { display:inline-block; padding:2px 8px; border-radius:10px; font-weight:600; color:#fff; }
.badge.approved, .badge.up, .badge.balanced { background:var(--ok); }
.badge.declined, .badge.refused, .badge.down, .badge.unbalanced { background:var(--bad); }
.badge.not_identified, .badge.warn { background:var(--warn); }
.error { color:var(--bad); font-weight:600; }
meter { width:240px; height:12px; }
`;

/** Disables a submit button while its form is on its way, so a double click does not pay twice. */
export const SCRIPT = `
document.addEventListener('submit', function (event) {
  var button = event.target.querySelector('button[type=submit]');
  if (button) { button.disabled = true; button.textContent = button.getAttribute('data-busy') || 'Working...'; }
});
`;
