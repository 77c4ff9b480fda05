/**
 * Durations in flow files: a number of milliseconds (as in TypeScript), or text such as `500ms`,
 * `30s`, `10m`, `1h30m`, `1d`.
 */

/** One or more `<number><unit>` parts, largest first or not; no spaces. */
export const DURATION_PATTERN = '^(?:\\d+(?:\\.\\d+)?(?:ms|s|m|h|d))+$'

const DURATION = new RegExp(DURATION_PATTERN)
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Words people write for units, to suggest the short form. */
const UNIT_WORDS: Record<string, string> = {
  ms: 'ms', msec: 'ms', msecs: 'ms', millisecond: 'ms', milliseconds: 'ms',
  s: 's', sec: 's', secs: 's', second: 's', seconds: 's',
  m: 'm', min: 'm', mins: 'm', minute: 'm', minutes: 'm',
  h: 'h', hr: 'h', hrs: 'h', hour: 'h', hours: 'h',
  d: 'd', day: 'd', days: 'd',
}

export function isDurationText(text: string): boolean {
  return DURATION.test(text)
}

/** Milliseconds of a duration already checked by the schema (a number or text matching the pattern). */
export function durationMs(value: number | string): number {
  if (typeof value === 'number') return value
  let ms = 0
  for (const [, amount, unit] of value.matchAll(PART)) ms += Number(amount) * UNIT_MS[unit!]!
  return ms
}

/** Why `text` is not a duration, with the form it was probably meant as. */
export function durationProblem(text: string): string {
  const shown = JSON.stringify(text)
  const words = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$/.exec(text)
  const unit = words === null ? undefined : UNIT_WORDS[words[2]!.toLowerCase()]
  if (words !== null && unit !== undefined) return `${shown} is not a duration (try ${words[1]}${unit})`
  if (/^\s*\d+(?:\.\d+)?\s*$/.test(text)) return `${shown} is not a duration: add a unit (${text.trim()}s, ${text.trim()}m) or write a number of milliseconds without quotes`
  return `${shown} is not a duration (use a number of milliseconds, or 500ms, 30s, 10m, 1h, 1h30m, 1d)`
}
