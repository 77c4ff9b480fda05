import type { Child } from 'hono/jsx'
import type { Assets } from './assets.js'

export interface LayoutProps {
  title: string
  assets: Assets
  children?: Child
  /** Marks the nav entry of this page. */
  section?: 'runs' | 'workflows'
  /** `<base href>`: what relative links of the page resolve against. */
  base?: string
}

/** Every page: the theme (stored choice, else the system's), the header, the scripts. */
export function Layout({ title, assets, children, section, base }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {base !== undefined && <base href={base} />}
        <title>{title} · wtflow</title>
        <link rel="stylesheet" href={assets.url('app.css')} />
        <link rel="icon" href={assets.url('favicon.svg')} />
        <script src={assets.url('theme.js')}></script>
        <script src={assets.url('vendor/htmx.min.js')} defer></script>
        <script src={assets.url('vendor/sse.js')} defer></script>
        <script type="module" src={assets.url('app.js')}></script>
      </head>
      <body hx-boost="false">
        <header class="top">
          <a class="brand" href="/">
            wtflow
          </a>
          <nav>
            <a href="/" class={section === 'runs' ? 'active' : ''}>
              Runs
            </a>
            <a href="/workflows" class={section === 'workflows' ? 'active' : ''}>
              Workflows
            </a>
            <a href="/api/v1/openapi.json">API</a>
          </nav>
          <button type="button" class="theme-toggle" id="theme-toggle" title="Switch between light and dark theme" aria-label="Toggle dark theme">
            ◐
          </button>
        </header>
        <main id="main">{children}</main>
      </body>
    </html>
  )
}

export function StatusBadge({ status, id }: { status: string; id?: string }) {
  return (
    <span class={`badge s-${status}`} id={id} data-status={status}>
      {status.replace('_', ' ')}
    </span>
  )
}
