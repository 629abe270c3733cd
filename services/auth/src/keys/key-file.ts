import { readFile } from 'node:fs/promises'
import { parseKeySet, type KeySet } from './jwk.js'

/** Reads the key set from SIGNING_KEYS_FILE (operator-managed, never written). */
export async function readKeyFile (path: string): Promise<KeySet> {
  return parseKeySet(await readFile(path, 'utf8'), path)
}
