import { parseImageReference } from '../../../subgraphs/common/image-reference';

const SHA = 'sha256:' + 'a1'.repeat(32);

describe('parseImageReference (OCI distribution reference grammar)', () => {
  test.each([
    ['img', null, 'img', null, null],
    ['img:1.2', null, 'img', '1.2', null],
    ['org/img', null, 'org/img', null, null],
    ['cellularimagingcf/convertleica-docker:v1.3.1', null, 'cellularimagingcf/convertleica-docker', 'v1.3.1', null],
    ['registry:5000/org/img:1.2', 'registry:5000', 'org/img', '1.2', null],
    ['registry:5000/org/img', 'registry:5000', 'org/img', null, null],
    ['localhost/img:dev', 'localhost', 'img', 'dev', null],
    [`ghcr.io/org/cellpose@${SHA}`, 'ghcr.io', 'org/cellpose', null, SHA],
    [`ghcr.io/org/cellpose:3.0@${SHA}`, 'ghcr.io', 'org/cellpose', '3.0', SHA],
    ['docker.io/library/python:3.11-slim', 'docker.io', 'library/python', '3.11-slim', null],
    ['a.b/c__d/e-f.g_h', 'a.b', 'c__d/e-f.g_h', null, null],
    ['registry/with.dot/img', null, 'registry/with.dot/img', null, null],
    ['my.image:tag', null, 'my.image', 'tag', null],
  ])('%s → registry %s, repository %s, tag %s, digest %s', (reference, registry, repository, tag, digest) => {
    const parsed = parseImageReference(reference);
    expect(parsed).toEqual({ registry, repository, name: registry ? `${registry}/${repository}` : repository, tag, digest });
  });

  test.each([
    [''],
    ['Org/img'], // upper case in a repository
    ['img:'], // empty tag
    ['img:-x'], // a tag cannot start with '-'
    [`img:${'t'.repeat(129)}`], // a tag has at most 128 characters
    ['img@sha256:abc'], // digest too short
    ['img@:' + 'a'.repeat(32)], // digest without algorithm
    ['/img'],
    ['img/'],
    ['org//img'],
    ['img;rm -rf /'],
    ['img $(id)'],
    ['reg-:5000/img'], // a host component cannot end with '-'
    ['x'.repeat(256)], // longer than the column
  ])('%j is not a reference', (reference) => {
    expect(parseImageReference(reference)).toBeNull();
  });
});
