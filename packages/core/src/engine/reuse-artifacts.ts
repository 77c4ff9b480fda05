import { copyFile, link, mkdir } from 'node:fs/promises'
import path from 'node:path'
import type { ArtifactInfo } from '../interfaces.js'

/**
 * Hard-links an earlier run's artifacts into a node's directory of this run (a copy where a
 * link cannot be made: another file system), so that every run's directory is complete by
 * itself and deleting the earlier run breaks nothing. Resolves to the artifacts at their new
 * paths; rejects if a file is gone.
 */
export async function linkReusedArtifacts(artifacts: readonly ArtifactInfo[], dir: string): Promise<ArtifactInfo[]> {
  if (artifacts.length === 0) return []
  await mkdir(dir, { recursive: true })
  const linked: ArtifactInfo[] = []
  for (const artifact of artifacts) {
    const target = path.join(dir, path.basename(artifact.path))
    try {
      await link(artifact.path, target)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EEXIST') {
        // A reuse attempt that was interrupted: the file is ours already.
      } else if (code === 'EXDEV' || code === 'EPERM' || code === 'EMLINK') {
        await copyFile(artifact.path, target)
      } else {
        throw error
      }
    }
    linked.push({ ...artifact, path: target })
  }
  return linked
}
