// Where things are: the repository root (found from this file, compiled or not), the built CLI and bench folders.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

function findRoot(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'hookbridge')
      return dir
  }
  throw new Error(`no hookbridge package.json above ${from}`)
}

export const repoRoot = findRoot(import.meta.dirname)
export const benchDir = join(repoRoot, 'bench')
export const buildDir = join(benchDir, 'results/tmp/build')
export const resultsDir = join(benchDir, 'results')
export const tmpDir = join(resultsDir, 'tmp')
export const cliPath = join(repoRoot, 'dist/cli/main.js')
export const nodeRedPrefix = join(benchDir, '.node-red')
