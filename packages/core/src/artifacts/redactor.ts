const MASK = Buffer.from('***')

/**
 * Replaces secret values by `***` in a byte stream, also when a secret is split across chunks:
 * the last `longest - 1` bytes of each chunk are held back until the next chunk (or the end)
 * shows whether they start a secret.
 */
export class StreamRedactor {
  readonly #secrets: Buffer[]
  readonly #holdBack: number
  #carry: Buffer = Buffer.alloc(0)

  constructor(secrets: Iterable<string>) {
    const unique = [...new Set([...secrets].filter(s => s.length > 0))]
    // Longest first, so that a secret containing another one is masked whole.
    this.#secrets = unique.map(s => Buffer.from(s)).sort((a, b) => b.length - a.length)
    this.#holdBack = Math.max(0, ...this.#secrets.map(s => s.length - 1))
  }

  get active(): boolean {
    return this.#secrets.length > 0
  }

  /** Returns the redacted bytes that are safe to write now. */
  push(chunk: Uint8Array): Buffer {
    const input = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    if (!this.active) return input
    const data = this.#carry.length === 0 ? input : Buffer.concat([this.#carry, input])
    return this.#redact(data, false)
  }

  /** Returns what was held back, redacted; call once at the end of the stream. */
  end(): Buffer {
    const data = this.#carry
    this.#carry = Buffer.alloc(0)
    return this.active ? this.#redact(data, true) : data
  }

  #redact(data: Buffer, final: boolean): Buffer {
    const parts: Buffer[] = []
    let cursor = 0
    // Matches must start before `safeEnd`; anything from there on may be the start of a secret.
    const safeEnd = final ? data.length : Math.max(0, data.length - this.#holdBack)
    while (cursor < safeEnd) {
      let matchAt = -1
      let matchLength = 0
      for (const secret of this.#secrets) {
        const at = data.indexOf(secret, cursor)
        if (at !== -1 && at < safeEnd && (matchAt === -1 || at < matchAt)) {
          matchAt = at
          matchLength = secret.length
        }
      }
      if (matchAt === -1) break
      parts.push(data.subarray(cursor, matchAt), MASK)
      cursor = matchAt + matchLength
    }
    const emitUntil = Math.max(cursor, safeEnd)
    parts.push(data.subarray(cursor, emitUntil))
    this.#carry = Buffer.from(data.subarray(emitUntil))
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts)
  }
}

/**
 * Text with every secret value replaced by `***` (longest first, so that a secret containing
 * another is masked whole): for what is not a stream (command lines, error messages, stacks).
 */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  if (secrets.length === 0 || text === '') return text
  let masked = text
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret !== '' && masked.includes(secret)) masked = masked.split(secret).join('***')
  }
  return masked
}

/** An error with its message and stack masked. */
export function maskError<E extends { message: string; stack?: string | undefined } | null>(error: E, secrets: readonly string[]): E {
  if (error === null || secrets.length === 0) return error
  const message = maskSecrets(error.message, secrets)
  const stack = error.stack === undefined ? undefined : maskSecrets(error.stack, secrets)
  if (message === error.message && stack === error.stack) return error
  return { ...error, message, ...(stack === undefined ? {} : { stack }) }
}

/** A JSON-like value with the secrets masked in every string it holds (keys too). */
export function maskDeep<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value
  const walk = (item: unknown): unknown => {
    if (typeof item === 'string') return maskSecrets(item, secrets)
    if (Array.isArray(item)) return item.map(walk)
    if (typeof item === 'object' && item !== null) return Object.fromEntries(Object.entries(item).map(([key, entry]) => [maskSecrets(key, secrets), walk(entry)]))
    return item
  }
  return walk(value) as T
}
