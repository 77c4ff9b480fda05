import type { RunResources } from '../model/executable.js'

/** Resources shared by the nodes of one run, by key; closed together when the run ends. */
export class RunResourceSet implements RunResources {
  readonly #resources = new Map<string, { close(): Promise<void> }>()

  get<T extends { close(): Promise<void> }>(key: string, create: () => T): T {
    let resource = this.#resources.get(key)
    if (resource === undefined) {
      resource = create()
      this.#resources.set(key, resource)
    }
    return resource as T
  }

  async close(): Promise<void> {
    const resources = [...this.#resources.values()]
    this.#resources.clear()
    await Promise.allSettled(resources.map(resource => resource.close()))
  }
}
