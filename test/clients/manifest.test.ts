import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, parse, validate } from 'graphql';
import { readSupergraph } from '../../gateway/supergraph';
import { buildManifest } from '../../clients/manifest';
import { projectRoot } from '../../database/paths';

it('clients/trusted-documents.json is the manifest of clients/operations (run npm run manifest when this fails)', () => {
  const built = buildManifest(join(projectRoot(), 'clients', 'operations'));
  const committed = JSON.parse(readFileSync(join(projectRoot(), 'clients', 'trusted-documents.json'), 'utf8'));
  expect(committed).toEqual(built);
  expect(Object.keys(built).length).toBeGreaterThanOrEqual(3);
  for (const [hash, document] of Object.entries(built)) {
    expect(createHash('sha256').update(document).digest('hex')).toBe(hash);
    expect(() => parse(document)).not.toThrow();
    expect(document).not.toMatch(/^\s*#/m); // comments are not part of what clients send
  }
});

it('every client operation is valid against the composed supergraph', () => {
  // the supergraph SDL with its join__ definitions builds as a plain schema: enough to validate against
  const schema = buildSchema(readSupergraph(), { assumeValidSDL: true });
  for (const document of Object.values(buildManifest(join(projectRoot(), 'clients', 'operations')))) {
    expect(validate(schema, parse(document)).map((e) => e.message)).toEqual([]);
  }
});
