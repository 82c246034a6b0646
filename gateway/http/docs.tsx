/**
 * The API reference page, rendered on the server from the generated OpenAPI document with
 * Hono JSX. Its only asset (the stylesheet) is served by the gateway itself: the page works
 * offline and loads nothing from a CDN.
 */
import type { FC } from 'hono/jsx';

export const DOCS_CSS = `
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 70rem; padding: 1rem 2rem; color: #1d2330; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #d6dae2; }
.op { border: 1px solid #d6dae2; border-radius: 6px; margin: 0.8rem 0; padding: 0.6rem 0.9rem; }
.method { display: inline-block; min-width: 3.5rem; font-weight: 700; text-transform: uppercase; }
.get { color: #0a6b2d; } .post { color: #1f4fb2; }
code, pre { font-family: ui-monospace, monospace; font-size: 0.85rem; } pre { background: #f5f6f8; padding: 0.5rem; overflow-x: auto; }
table { border-collapse: collapse; } td, th { border: 1px solid #d6dae2; padding: 0.2rem 0.5rem; text-align: left; vertical-align: top; }
nav a { margin-right: 1rem; }
`;

interface Operation {
  readonly summary?: string;
  readonly tags?: readonly string[];
  readonly security?: readonly Record<string, unknown>[];
  readonly parameters?: readonly { name: string; in: string; required?: boolean; description?: string }[];
  readonly requestBody?: { content?: Record<string, { schema?: unknown }> };
  readonly responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
}

export interface OpenApiDocument {
  readonly openapi: string;
  readonly info: { title: string; version: string; description?: string };
  readonly paths?: Record<string, Record<string, Operation>>;
  readonly components?: { schemas?: Record<string, unknown> };
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

const Schema: FC<{ schema: unknown }> = ({ schema }) => <pre>{JSON.stringify(schema, null, 2)}</pre>;

const OperationView: FC<{ path: string; method: string; op: Operation }> = ({ path, method, op }) => (
  <div class="op" id={`${method}-${path}`}>
    <div><span class={`method ${method}`}>{method}</span> <code>{path}</code> — {op.summary ?? ''}</div>
    <div>auth: {(op.security ?? []).map((s) => Object.keys(s).join(', ')).join(' or ') || 'none'}</div>
    {op.parameters && op.parameters.length > 0 ? (
      <table>
        <tr><th>parameter</th><th>in</th><th>required</th><th>description</th></tr>
        {op.parameters.map((p) => <tr><td><code>{p.name}</code></td><td>{p.in}</td><td>{p.required ? 'yes' : 'no'}</td><td>{p.description ?? ''}</td></tr>)}
      </table>
    ) : null}
    {op.requestBody?.content?.['application/json'] ? <div>request body:<Schema schema={op.requestBody.content['application/json'].schema} /></div> : null}
    <table>
      <tr><th>status</th><th>meaning</th></tr>
      {Object.entries(op.responses ?? {}).map(([status, r]) => <tr><td>{status}</td><td>{r.description ?? ''}</td></tr>)}
    </table>
  </div>
);

export const DocsPage: FC<{ doc: OpenApiDocument; cssHref: string }> = ({ doc, cssHref }) => {
  const operations = Object.entries(doc.paths ?? {}).flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((m) => ({ path, method: m, op: item[m] as Operation })));
  const tags = [...new Set(operations.map((o) => o.op.tags?.[0] ?? 'other'))];
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>{doc.info.title} — API reference</title>
        <link rel="stylesheet" href={cssHref} />
      </head>
      <body>
        <h1>{doc.info.title} <small>{doc.info.version}</small></h1>
        <p>{doc.info.description ?? ''}</p>
        <p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI {doc.openapi}).</p>
        <nav>{tags.map((tag) => <a href={`#tag-${tag}`}>{tag}</a>)}</nav>
        {tags.map((tag) => (
          <section id={`tag-${tag}`}>
            <h2>{tag}</h2>
            {operations.filter((o) => (o.op.tags?.[0] ?? 'other') === tag).map((o) => <OperationView path={o.path} method={o.method} op={o.op} />)}
          </section>
        ))}
        <h2>schemas</h2>
        {Object.entries(doc.components?.schemas ?? {}).map(([name, schema]) => <div id={`schema-${name}`}><h3>{name}</h3><Schema schema={schema} /></div>)}
      </body>
    </html>
  );
};

export function renderDocsPage(doc: OpenApiDocument, cssHref: string) {
  return <DocsPage doc={doc} cssHref={cssHref} />;
}
