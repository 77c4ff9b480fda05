import type { Artifact } from '../interfaces.js'
import type { InputRef } from './inputs.js'
import type { Node } from './node.js'

/** Marks references across copies of @wtflow/core (see `ERROR_BRAND`). */
const REF_BRAND: unique symbol = Symbol.for('wtflow.ref') as never

/** A file artifact of a node: becomes an `Artifact` in a Func, the file's path in a Command argv. */
export class ArtifactRef {
  readonly kind = 'artifact' as const
  constructor(
    readonly node: Node<unknown>,
    readonly name: string,
  ) {}

  get [REF_BRAND](): true {
    return true
  }
}

/** The return value of a node (a Func's, say): becomes the plain value (typed `T`) in a Func or a `when`. */
export class ResultRef<T> {
  readonly kind = 'result' as const
  /** Phantom field that carries the result type; never set at runtime. */
  declare readonly __type: T
  constructor(readonly node: Node<T>) {}

  get [REF_BRAND](): true {
    return true
  }
}

export type Ref = ArtifactRef | ResultRef<unknown>

/** True for a reference, even one made by another copy of @wtflow/core. */
export function isRef(value: unknown): value is Ref {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[REF_BRAND] === true
}

/** The artifact a reference names: `stdout`, `stderr`, a declared file's name, or `result`. */
export function refName(ref: Ref): string {
  return ref.kind === 'artifact' ? ref.name : 'result'
}

/** What a Func parameter of type `P` accepts: a value, a result of that type, or (for `Artifact`) an artifact. */
export type ArgFor<P> = P | ResultRef<P> | (Artifact extends P ? ArtifactRef : never) | (string extends P ? InputRef : never)

/** The args tuple a Func accepts for a function with parameters `Params`. */
export type ArgsFor<Params extends readonly unknown[]> = { [K in keyof Params]: ArgFor<Params[K]> }
