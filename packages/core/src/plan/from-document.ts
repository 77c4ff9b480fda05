import { BUILTIN_EXECUTABLES } from '../executables/builtins.js'
import type { RunPlan } from './run-plan.js'
import { workflowFromDocument, type ExecutableFactory, type PlanDocument } from './serialize.js'
import { validateWorkflow } from './validate.js'

export interface PlanFromDocumentOptions {
  /** Executables besides the built-in ones (`command`, `func`), by the name their spec `uses`. */
  executables?: Iterable<ExecutableFactory>
}

/**
 * Rebuilds and validates the plan a document describes (`RunPlan.toJSON()`): the same nodes,
 * options and executables, Funcs loaded from their module and export. A node with a `when`
 * predicate cannot be rebuilt (its source text is not code to run): load that workflow from its
 * script instead. Rejects with a `ValidationError`.
 *
 * @example
 * const copy = await planFromDocument(JSON.parse(JSON.stringify(plan)))
 * copy.digest === plan.digest // true
 */
export async function planFromDocument(document: PlanDocument, options: PlanFromDocumentOptions = {}): Promise<RunPlan> {
  const factories = new Map(BUILTIN_EXECUTABLES)
  for (const factory of options.executables ?? []) factories.set(factory.name, factory)
  return validateWorkflow(workflowFromDocument(document, factories))
}
