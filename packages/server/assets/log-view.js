// <wtflow-log data-src="/api/v1/runs/ID/nodes/PATH/logs" data-stream="stdout" data-live="true">
// Opens on the last 256 KB of a log (earlier parts load on demand), follows it live through
// server-sent events (ids are byte offsets: a reconnect resumes where it stopped), renders ANSI
// colours, collapses `\r` progress lines, and stays responsive however fast the node prints:
// text is applied once per animation frame, a flood shows only its tail, and the view keeps at
// most MAX_LINES lines.
import { AnsiUp } from './vendor/ansi_up.js'

const TAIL_BYTES = 256 * 1024
const MAX_LINES = 3000
/** Most text applied in one frame; beyond it only the newest part is shown. */
const FRAME_BYTES = 32 * 1024
/** How often a flood of output is applied. */
const FLOOD_INTERVAL_MS = 100

class WtflowLog extends HTMLElement {
  connectedCallback() {
    this.src = this.dataset.src
    this.stream = this.dataset.stream || 'stdout'
    this.ansi = new AnsiUp()
    this.ansi.use_classes = false
    this.pending = ''
    this.partial = '' // the last, unfinished line
    this.partialEl = null
    this.lineCount = 0
    this.scheduled = false
    this.follow = true
    this.start = 0
    this.innerHTML = ''
    this.bar = document.createElement('div')
    this.bar.className = 'log-bar'
    this.earlier = document.createElement('button')
    this.earlier.type = 'button'
    this.earlier.textContent = 'Load earlier 256 KB'
    this.earlier.hidden = true
    this.earlier.addEventListener('click', () => this.loadEarlier())
    this.state = document.createElement('span')
    this.bar.append(this.earlier, this.state)
    this.view = document.createElement('div')
    this.view.className = 'log-view'
    this.view.tabIndex = 0
    this.view.setAttribute('role', 'log')
    this.view.addEventListener('scroll', () => {
      this.follow = this.view.scrollTop + this.view.clientHeight >= this.view.scrollHeight - 4
    })
    this.append(this.bar, this.view)
    void this.open()
  }

  disconnectedCallback() {
    this.source?.close()
    this.source = null
  }

  url(params) {
    return `${this.src}?${new URLSearchParams({ stream: this.stream, ...params })}`
  }

  async open() {
    const response = await fetch(this.url({ tail: String(TAIL_BYTES) }))
    if (!response.ok) {
      this.state.textContent = `cannot load the log (${response.status})`
      return
    }
    const text = await response.text()
    this.start = Number(response.headers.get('X-Log-Offset') || 0)
    const end = this.start + new TextEncoder().encode(text).length
    this.earlier.hidden = this.start === 0
    // A tail that starts mid-line: drop the broken first line.
    this.pending = this.start > 0 ? text.slice(text.indexOf('\n') + 1) : text
    this.flush(true)
    if (this.dataset.live === 'true') this.listen(end)
    else this.state.textContent = `${formatBytes(end)}`
  }

  listen(offset) {
    this.state.textContent = 'following…'
    // view=tail: when the node prints faster than a page can show, the server skips ahead.
    const source = new EventSource(this.url({ offset: String(offset), view: 'tail' }))
    this.source = source
    source.onmessage = event => this.push(JSON.parse(event.data))
    source.addEventListener('attempt', () => this.push('\n\u2500\u2500 next attempt \u2500\u2500\n'))
    source.addEventListener('skip', event => {
      const { from, to } = JSON.parse(event.data)
      this.pending = ''
      this.partial = ''
      this.skippedBytes = (this.skippedBytes ?? 0) + (to - from)
      this.push(`\n\u2026 ${formatBytes(to - from)} skipped: output faster than the view (the raw log has it) \u2026\n`)
    })
    source.addEventListener('end', event => {
      source.close()
      this.source = null
      let status = ''
      try {
        status = JSON.parse(event.data).status
      } catch {}
      this.state.textContent = `ended${status ? ` (${status})` : ''}`
      this.dataset.live = 'false'
      this.dispatchEvent(new CustomEvent('log-end', { bubbles: true }))
    })
  }

  push(text) {
    if (text === '') return
    this.pending += text
    if (this.scheduled) return
    this.scheduled = true
    // A flood is applied ten times a second, not every frame: the frames stay free for the user.
    if (this.pending.length > FRAME_BYTES) setTimeout(() => this.flush(), FLOOD_INTERVAL_MS)
    else requestAnimationFrame(() => this.flush())
  }

  /** Applies what arrived; `all`: every byte (the first load), else a flood shows only its tail. */
  flush(all = false) {
    this.scheduled = false
    let text = this.pending
    this.pending = ''
    let skipped = 0
    if (!all && text.length > FRAME_BYTES) {
      // Faster than anyone can read: show the newest part (the raw log has everything).
      const cut = text.indexOf('\n', text.length - FRAME_BYTES)
      const from = cut === -1 ? text.length - FRAME_BYTES : cut + 1
      skipped = from
      text = text.slice(from)
      this.partial = ''
    }
    const lines = (this.partial + text).split('\n')
    this.partial = lines.pop()
    if (this.partialEl) {
      this.partialEl.remove()
      this.partialEl = null
    }
    // One element per batch, filled by one HTML parse: far cheaper than an element per line.
    let html = skipped > 0 ? `<div class="l gap">… ${formatBytes(skipped)} not shown here (output faster than the view; see raw) …</div>` : ''
    for (const line of lines) html += `<div class="l">${this.ansi.ansi_to_html(collapseCarriageReturns(line))}</div>`
    if (html !== '') {
      const batch = document.createElement('div')
      batch.className = 'batch'
      batch.dataset.lines = String(lines.length)
      batch.innerHTML = html
      this.view.append(batch)
      this.lineCount += lines.length
    }
    if (this.partial !== '') {
      this.partialEl = document.createElement('div')
      this.partialEl.className = 'l'
      this.partialEl.innerHTML = new AnsiUp().ansi_to_html(collapseCarriageReturns(this.partial))
      this.view.append(this.partialEl)
    }
    if (!all) {
      // Whole batches leave the top once the view holds more than MAX_LINES.
      while (this.lineCount > MAX_LINES) {
        const first = this.view.firstElementChild
        if (first === null || first === this.partialEl || first.className !== 'batch') break
        this.lineCount -= Number(first.dataset.lines)
        first.remove()
        this.earlier.hidden = true
      }
    }
    if (this.follow) this.view.scrollTop = this.view.scrollHeight
  }

  async loadEarlier() {
    const from = Math.max(0, this.start - TAIL_BYTES)
    const response = await fetch(this.url({ offset: String(from), limit: String(this.start - from) }))
    if (!response.ok) return
    let text = await response.text()
    if (from > 0) text = text.slice(text.indexOf('\n') + 1)
    this.start = from
    this.earlier.hidden = from === 0
    const ansi = new AnsiUp()
    const lines = text.split('\n')
    if (lines.at(-1) === '') lines.pop()
    let html = ''
    for (const line of lines) html += `<div class="l">${ansi.ansi_to_html(collapseCarriageReturns(line))}</div>`
    const batch = document.createElement('div')
    batch.className = 'batch'
    batch.dataset.lines = String(lines.length)
    batch.innerHTML = html
    this.lineCount += lines.length
    const before = this.view.scrollHeight
    this.view.prepend(batch)
    this.view.scrollTop += this.view.scrollHeight - before
  }
}

function collapseCarriageReturns(line) {
  const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line
  const cr = trimmed.lastIndexOf('\r')
  return cr === -1 ? trimmed : trimmed.slice(cr + 1)
}

function formatBytes(n) {
  return n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(1)} MB`
}

customElements.define('wtflow-log', WtflowLog)
