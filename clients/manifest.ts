/**
 * `npm run manifest`: the trusted-documents manifest for PERSISTED_OPERATIONS=trusted
 * (docs/limits.md). Every clients/operations/*.graphql file is one document; the manifest maps
 * the sha256 (hex) of the document text, exactly as clients send it, to that text.
 * Clients send `extensions: {persistedQuery: {version: 1, sha256Hash}}` (or the text itself).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'graphql';

/** The document clients send for an operation file: its text without comment lines, trimmed. */
export function documentOf(source: string): string {
  return source
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .trim();
}

export function buildManifest(operationsDir: string): Record<string, string> {
  const manifest: Record<string, string> = {};
  for (const file of readdirSync(operationsDir)
    .filter((f) => f.endsWith('.graphql'))
    .sort()) {
    const document = documentOf(readFileSync(join(operationsDir, file), 'utf8'));
    parse(document); // a broken operation fails the build, not the gateway
    manifest[createHash('sha256').update(document).digest('hex')] = document;
  }
  return manifest;
}

if (process.argv[1] && /manifest\.(ts|js)$/.test(process.argv[1])) {
  const root = process.cwd(); // npm run runs at the project root
  const target = process.argv[2] ?? join(root, 'clients', 'trusted-documents.json');
  const manifest = buildManifest(join(root, 'clients', 'operations'));
  writeFileSync(target, JSON.stringify(manifest, null, 2) + '\n');
  console.log(`${Object.keys(manifest).length} trusted documents → ${target}`);
}
