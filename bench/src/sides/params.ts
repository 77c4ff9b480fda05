/** Typed access to a side's JSON parameters. */
export function num(params: Record<string, unknown>, key: string): number {
  const value = params[key]
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`bench parameter ${key} must be a number, got ${String(value)}`)
  return value
}

export function str(params: Record<string, unknown>, key: string): string {
  const value = params[key]
  if (typeof value !== 'string') throw new Error(`bench parameter ${key} must be a string, got ${String(value)}`)
  return value
}

/** The shell pipeline of scenario (d): `bytes` bytes of 64-byte lines on stdout. */
export function outputCommand(bytes: number): string {
  return `yes "$(printf '%063d' 0)" | head -c ${bytes}`
}
