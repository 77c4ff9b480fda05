// The pages' behaviour beyond htmx: theme switch, live durations and timeline, error toasts,
// reload when a queued run starts. Plain ES module, no build step.
import './log-view.js'

const root = document.documentElement

document.getElementById('theme-toggle')?.addEventListener('click', () => {
  const next = root.dataset.theme === 'dark' ? 'light' : 'dark'
  root.dataset.theme = next
  try {
    localStorage.setItem('wtflow-theme', next)
  } catch {}
})

function formatDuration(ms) {
  if (!Number.isFinite(ms)) return ''
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`
  const s = Math.round(ms / 1000)
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}

// Elapsed times of what is running, and the timeline's span, once a second.
function tick() {
  const now = Date.now()
  for (const el of document.querySelectorAll('[data-since]')) {
    const since = Date.parse(el.dataset.since)
    if (Number.isFinite(since)) el.textContent = formatDuration(now - since)
  }
  const gantt = document.getElementById('gantt')
  if (gantt?.dataset.running === 'true') {
    const t0 = Number(gantt.dataset.t0)
    gantt.style.setProperty('--span', String(Math.max(1, now - t0)))
    for (const bar of gantt.querySelectorAll('.g-bar[data-running="true"]')) bar.style.setProperty('--e', String(now - t0))
  }
}
setInterval(tick, 1000)

// A failed POST (401 without the token cookie, 409 already ended…): say why.
function toast(text) {
  const el = document.createElement('div')
  el.className = 'toast'
  el.setAttribute('role', 'alert')
  el.textContent = text
  document.body.append(el)
  setTimeout(() => el.remove(), 8000)
}
document.body.addEventListener('htmx:responseError', event => {
  const xhr = event.detail.xhr
  let message = `${xhr.status} ${xhr.statusText}`
  try {
    message = JSON.parse(xhr.responseText).error.message
  } catch {}
  if (xhr.status === 401) message = 'This needs the server’s token: open the URL `wtflow serve` printed (…/?token=…) once in this browser.'
  toast(message)
})
document.body.addEventListener('htmx:sendError', () => toast('The server did not answer.'))

// A node's link opens its panel in place (and keeps its permalink in the address bar). One
// listener for the whole tree: a page of 1,000 nodes does not set up 1,000 htmx elements.
document.body.addEventListener('click', event => {
  const link = event.target instanceof Element ? event.target.closest('.tree-rows a.node-name') : null
  if (link === null || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return
  event.preventDefault()
  const base = link.closest('.tree-rows').dataset.panelBase
  // Resolved against the page's <base href="/runs/ID/">: /runs/ID/nodes/a/b.
  const href = new URL(link.href).pathname
  const panelUrl = base + href.slice(href.indexOf('/nodes/') + 7)
  for (const row of document.querySelectorAll('.node.selected')) row.classList.remove('selected')
  link.closest('.node')?.classList.add('selected')
  window.htmx.ajax('GET', panelUrl, { target: '#panel', swap: 'innerHTML' }).then(() => history.pushState({ wtflowPanel: panelUrl }, '', href))
})
window.addEventListener('popstate', () => location.reload())

// A queued run started: its tree exists now.
document.body.addEventListener('htmx:sseMessage', event => {
  if (event.detail?.type === 'reload') location.reload()
})
