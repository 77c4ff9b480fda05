import fs from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHistory, startRun, startTestServer, waitForStatus, type TestHistory, type TestServer } from './helpers.js'

/** Screenshots of the UI tests (gitignored). */
export const SCREENSHOTS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'test-artifacts')

export const CHROMIUM = process.env.WTFLOW_CHROMIUM ?? '/usr/bin/chromium'
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

/**
 * Debian's chromium. playwright gives each launch a fresh profile directory of its own (the
 * `--user-data-dir` it passes, removed on close) and refuses one given in `args`.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
}

let history: TestHistory
let t: TestServer
let browser: Browser
let context: BrowserContext
let page: Page
const pageErrors: string[] = []

beforeAll(async () => {
  await fs.mkdir(SCREENSHOTS, { recursive: true })
  history = await createHistory('sqlite')
  t = await startTestServer(history)
  browser = await launchChromium()
  context = await browser.newContext({ viewport: { width: 1400, height: 900 }, colorScheme: 'light' })
  page = await context.newPage()
  page.on('pageerror', error => pageErrors.push(error.message))
  page.on('console', message => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/.test(message.text())) pageErrors.push(message.text())
  })
  if (process.env.DEBUG_UI) {
    page.on('console', m => console.log('console:', m.text()))
    page.on('response', r => console.log('response:', r.status(), r.request().method(), r.url()))
  }
  // The token once, from the URL the server printed: the cookie does the rest.
  await page.goto(`${t.base}/?token=${t.token}`)
  expect(new URL(page.url()).search).toBe('')
})

afterAll(async () => {
  await browser?.close()
  await t?.close()
  await history?.dispose()
})

const shot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true })
const nodeRow = (nodePath: string) => page.locator(`.node[data-path="${nodePath}"]`)

describe('web UI in headless Chromium', () => {
  it('lists runs, filters them through the URL, and adds new runs live', async () => {
    const done = await startRun(t, 'quick')
    await waitForStatus(t, done, 'succeeded')
    await page.goto(`${t.base}/`)
    await expect.poll(() => page.locator(`#run-${done} [data-status]`).getAttribute('data-status')).toBe('succeeded')
    // A run started elsewhere (the API) appears without a reload.
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1))
    const live = await startRun(t, 'gated')
    await expect.poll(() => page.locator(`#run-${live}`).count()).toBe(1)
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1)
    await page.selectOption('select[name=status]', 'succeeded')
    await page.click('#filters button[type=submit]')
    await page.waitForURL(url => url.searchParams.get('status') === 'succeeded')
    await expect.poll(() => page.locator('table.runs tbody tr').count()).toBe(1)
    await shot('runs-list')
    await t.open('first')
    await t.open('second')
    await waitForStatus(t, live, 'succeeded')
  })

  it('starts a workflow from the UI and shows its nodes turning green live', async () => {
    await fs.rm(path.join(history.gates, 'first'), { force: true })
    await fs.rm(path.join(history.gates, 'second'), { force: true })
    await page.goto(`${t.base}/workflows`)
    await page.click('form[data-workflow="gated"] button[type=submit]')
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/)
    const id = page.url().split('/').at(-1)!
    // A run that was still queued when the page loaded reloads once it starts (its tree exists then).
    await nodeRow('root/first').waitFor()
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 2))
    await expect.poll(() => nodeRow('root/first').getAttribute('data-status')).toBe('running')
    expect(await nodeRow('root/second').getAttribute('data-status')).toBe('pending')
    await shot('run-page-running')
    await t.open('first')
    await expect.poll(() => nodeRow('root/first').getAttribute('data-status')).toBe('succeeded')
    await expect.poll(() => nodeRow('root/second').getAttribute('data-status')).toBe('running')
    await expect.poll(() => page.locator('#g-1 .g-bar').getAttribute('class')).toContain('s-succeeded')
    await t.open('second')
    await expect.poll(() => page.locator('#run-header').getAttribute('data-status')).toBe('succeeded')
    expect(await page.locator('.node .badge.s-succeeded').count()).toBe(3)
    // All of it without reloading the page.
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(2)
    expect(await t.db.getRun(id)).toMatchObject({ status: 'succeeded' })
    await shot('run-page')
  })

  it("opens a node's log while it prints, follows it live, and keeps a permalink", async () => {
    const id = await startRun(t, 'printer')
    await waitForStatus(t, id, 'running')
    await page.goto(`${t.base}/runs/${id}`)
    await nodeRow('print').locator('a.node-name').click()
    await page.waitForURL(`${t.base}/runs/${id}/nodes/print`)
    const log = page.locator('wtflow-log .log-view')
    await expect.poll(() => log.innerText()).toBe('line 1')
    await t.open('more')
    await expect.poll(() => log.innerText()).toBe('line 1\nline 2 ∑é')
    await shot('node-log-live')
    await t.open('end')
    await expect.poll(() => page.locator('wtflow-log .log-bar').innerText()).toContain('ended (succeeded)')
    expect(await log.innerText()).toBe('line 1\nline 2 ∑é\ndone')
    // The permalink opens the same panel.
    await page.goto(`${t.base}/runs/${id}/nodes/print?stream=stdout`)
    await expect.poll(() => log.innerText()).toBe('line 1\nline 2 ∑é\ndone')
  })

  it('renders ANSI colours, collapses \\r progress lines, and shows results and artifacts', async () => {
    const id = (await t.db.listRuns({ workflow: 'quick', limit: 1 }))[0]!.id
    await page.goto(`${t.base}/runs/${id}/nodes/root/colors`)
    const log = page.locator('wtflow-log .log-view')
    await expect.poll(() => log.innerText()).toBe('red plain\n100%')
    const red = log.locator('span', { hasText: 'red' })
    expect(await red.evaluate(el => getComputedStyle(el).color)).toBe('rgb(187, 0, 0)')
    await page.goto(`${t.base}/runs/${id}/nodes/root/compute`)
    expect(JSON.parse(await page.locator('pre.json').innerText())).toEqual({ answer: 42, words: ['a', 'b'] })
    const download = page.waitForEvent('download')
    await page.locator('.artifacts a', { hasText: 'result' }).click()
    expect((await download).suggestedFilename()).toBe('result.json')
  })

  it('opens a huge log on its last 256 KB, with a way to load earlier parts', async () => {
    const id = await startRun(t, 'big')
    await waitForStatus(t, id, 'succeeded')
    await page.goto(`${t.base}/runs/${id}/nodes/print`)
    const lines = page.locator('wtflow-log .log-view .l')
    await expect.poll(() => lines.last().innerText()).toBe('line 20000 cyan and some padding text')
    const firstShown = async () => Number(/line (\d+)/.exec(await lines.first().innerText())![1])
    if (process.env.DEBUG_UI) console.log('first lines:', JSON.stringify(await lines.evaluateAll(els => els.slice(0, 3).map(e => e.textContent))))
    const first = await firstShown()
    expect(first).toBeGreaterThan(10000)
    const earlier = page.locator('wtflow-log button', { hasText: 'Load earlier' })
    expect(await earlier.isVisible()).toBe(true)
    await earlier.click()
    await expect.poll(firstShown).toBeLessThan(first)
    const now = await firstShown()
    // Contiguous: every line between is there once.
    expect(await lines.count()).toBe(20000 - now + 1)
  })

  it('cancels a run from the UI', async () => {
    const id = await startRun(t, 'forever')
    await waitForStatus(t, id, 'running')
    await page.goto(`${t.base}/runs/${id}`)
    page.once('dialog', dialog => void dialog.accept())
    await page.click('#cancel-run')
    await expect.poll(() => page.locator('#run-header').getAttribute('data-status')).toBe('cancelled')
    expect(await nodeRow('sleep').getAttribute('data-status')).toBe('cancelled')
    expect((await t.db.getRun(id)).status).toBe('cancelled')
    await shot('run-cancelled')
  })

  it('says what to do when a button needs the token this browser lacks', async () => {
    const id = await startRun(t, 'forever')
    const anonymous = await browser.newPage()
    try {
      await anonymous.goto(`${t.base}/runs/${id}`)
      anonymous.once('dialog', dialog => void dialog.accept())
      await anonymous.click('#cancel-run')
      await expect.poll(() => anonymous.locator('.toast').innerText()).toContain('token')
      expect(await runStatusOf(id)).toMatch(/queued|running/)
    } finally {
      await anonymous.close()
      await fetch(`${t.base}/api/v1/runs/${id}/cancel`, { method: 'POST', headers: t.auth })
    }
  })

  it('switches to the dark theme and keeps it', async () => {
    await page.goto(`${t.base}/`)
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light')
    await page.click('#theme-toggle')
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark')
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(13, 17, 23)')
    await page.reload()
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark')
    await shot('runs-list-dark')
    const id = (await t.db.listRuns({ workflow: 'gated', limit: 1 }))[0]!.id
    await page.goto(`${t.base}/runs/${id}/nodes/root/first`)
    await shot('run-page-dark')
    await page.click('#theme-toggle')
  })

  it('shows the runs × nodes grid of a workflow', async () => {
    await page.goto(`${t.base}/workflows/gated/grid`)
    const runs = await t.db.listRuns({ workflow: 'gated' })
    expect(await page.locator('table.grid thead th a').count()).toBe(runs.length)
    expect(await page.locator('table.grid tbody tr').count()).toBe(3)
    expect(await page.locator('table.grid .cell.s-succeeded').count()).toBe(runs.length * 3)
    expect(pageErrors).toEqual([])
  })
})

async function runStatusOf(id: string): Promise<string> {
  return (await t.db.getRun(id)).status
}
