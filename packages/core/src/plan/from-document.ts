import { BUILTIN_PLUGINS } from '../executables/builtins.js'
import type { Plugin, PluginLike } from '../plugins/plugin.js'
import type { RunPlan } from './run-plan.js'
import { workflowFromDocument, type ExecutableFactory, type PlanDocument } from './serialize.js'
import { validateWorkflow } from './validate.js'

export interface PlanFromDocumentOptions {
  /** Plugins besides the built-in ones (`command`, `func`, `http`, `env`), by the name their spec `uses`. */
  plugins?: Iterable<Plugin>
  /** The same as `plugins`, for factories written before plugins existed. */
  executables?: Iterable<ExecutableFactory>
  /** Directory relative paths in executables' options are resolved from (default: the working directory). */
  baseDir?: string
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
  const factories = new Map<string, PluginLike>(BUILTIN_PLUGINS.map(plugin => [plugin.name, plugin]))
  for (const factory of [...(options.executables ?? []), ...(options.plugins ?? [])]) factories.set(factory.name, factory)
  return validateWorkflow(await workflowFromDocument(document, factories, options.baseDir ?? process.cwd()))
}
