import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

let cachedRoot: string | undefined;

/**
 * The project root: the nearest directory above this file that holds supergraph.yaml or the
 * package.json named omero-graph. Walking up (instead of a fixed `..`) lets the same code run
 * from source (database/*.ts under jest) and compiled (dist/database/*.js).
 */
export function projectRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = __dirname;
  for (;;) {
    if (existsSync(join(dir, 'supergraph.yaml')) || isOurPackage(join(dir, 'package.json'))) {
      cachedRoot = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`omero-graph project root not found above ${__dirname}`);
    dir = parent;
  }
}

function isOurPackage(file: string): boolean {
  if (!existsSync(file)) return false;
  try {
    return JSON.parse(readFileSync(file, 'utf8')).name === 'omero-graph';
  } catch {
    return false;
  }
}

/** Absolute path of a file under <root>/database (the SQL files are not copied to dist/). */
export function databaseFile(name: string): string {
  return join(projectRoot(), 'database', name);
}
