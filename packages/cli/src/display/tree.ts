/** Tree drawing shared by the live view, `--dry-run` and `wtflow show`. */

export interface TreeItem {
  path: string
  parentPath: string | null
}

export interface TreeLine<T extends TreeItem> {
  item: T
  depth: number
  /** Drawn before the node's own line: `├─ `, `│  └─ `… (empty for a root). */
  prefix: string
  /** Drawn before extra lines that belong to the node (artifacts, errors), keeping the guides. */
  continuation: string
}

/**
 * Lays items (parents before children, siblings in order) out as a tree. Items whose parent is
 * not in the list are roots.
 */
export function layoutTree<T extends TreeItem>(items: readonly T[]): TreeLine<T>[] {
  const byPath = new Map(items.map(item => [item.path, item]))
  const children = new Map<string | null, T[]>()
  for (const item of items) {
    const parent = item.parentPath !== null && byPath.has(item.parentPath) ? item.parentPath : null
    let list = children.get(parent)
    if (list === undefined) children.set(parent, (list = []))
    list.push(item)
  }
  const lines: TreeLine<T>[] = []
  // Depth first with an explicit stack (a chain may be thousands of levels deep).
  const roots = children.get(null) ?? []
  const stack: Array<{ item: T; depth: number; guides: string; isLast: boolean }> = []
  for (let i = roots.length - 1; i >= 0; i--) stack.push({ item: roots[i]!, depth: 0, guides: '', isLast: true })
  while (stack.length > 0) {
    const { item, depth, guides, isLast } = stack.pop()!
    const own = depth === 0 ? '' : guides + (isLast ? '└─ ' : '├─ ')
    const below = depth === 0 ? '' : guides + (isLast ? '   ' : '│  ')
    const kids = children.get(item.path) ?? []
    lines.push({ item, depth, prefix: own, continuation: below + (kids.length > 0 ? '│  ' : '   ') })
    for (let i = kids.length - 1; i >= 0; i--) stack.push({ item: kids[i]!, depth: depth + 1, guides: below, isLast: i === kids.length - 1 })
  }
  return lines
}

/** The parent of a node path (`a/b/c` → `a/b`); node names never contain `/`. */
export function parentOf(path: string): string | null {
  const slash = path.lastIndexOf('/')
  return slash === -1 ? null : path.slice(0, slash)
}
