import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { parseRepositoryUrl, WorkflowCatalogue } from '../../../../subgraphs/workflows/catalogue/catalogue';
import { DescriptorError, parseDescriptor } from '../../../../subgraphs/workflows/catalogue/descriptor';

const FIXTURES = join(__dirname, '../../../fixtures/workflows');
const catalogue = new WorkflowCatalogue({ configFile: join(FIXTURES, 'slurm-config.ini'), descriptorsDir: join(FIXTURES, 'descriptors') });

describe('repository URLs', () => {
  it.each([
    ['https://github.com/TorecLuik/W_NucleiSegmentation-Cellpose/tree/v1.4.0', 'https://github.com/TorecLuik/W_NucleiSegmentation-Cellpose', 'v1.4.0', null],
    ['https://github.com/org/repo/blob/v0.2.0/descriptor.json', 'https://github.com/org/repo', 'v0.2.0', 'descriptor.json'],
    ['https://github.com/org/repo.git', 'https://github.com/org/repo', null, null],
    ['https://github.com/org/repo/', 'https://github.com/org/repo', null, null],
  ])('%s', (url, repository, versionTag, descriptorPath) => {
    expect(parseRepositoryUrl(url)).toEqual({ repository, versionTag, descriptorPath });
  });
});

describe('the catalogue from slurm-config.ini and the descriptor folder', () => {
  it('merges [MODELS] and [WORKFLOWS] key by key, WORKFLOWS winning', async () => {
    const all = await catalogue.list();
    expect(all.map((w) => w.name)).toEqual(['cellpose', 'deconvolution', 'spotdetection', 'stardist']);
    const cellpose = all[0];
    expect(cellpose).toMatchObject({
      section: 'WORKFLOWS',
      imageFolder: 'cellpose',
      jobScript: 'jobs/cellpose.sh',
      useGpu: true,
      repository: 'https://github.com/TorecLuik/W_NucleiSegmentation-Cellpose',
      versionTag: 'v1.4.0',
    });
    // extras from both sections
    expect(cellpose.sbatchOptions).toEqual([
      { flag: 'gres', value: 'gpu:1g.10gb:1' },
      { flag: 'mem', value: '15GB' },
      { flag: 'time', value: '00:45:00' },
    ]);
    expect(all[3]).toMatchObject({ section: 'MODELS', versionTag: 'v1.3.2', useGpu: null, sbatchOptions: [] });
  });

  it('reads a cytomine-0.1 descriptor: hidden server inputs, Number as integer or float, choices, required', async () => {
    const cellpose = (await catalogue.get('cellpose'))!;
    expect(cellpose.descriptorError).toBeNull();
    const d = cellpose.descriptor!;
    expect(d).toMatchObject({
      format: 'cytomine-0.1',
      name: 'NucleiSegmentation-Cellpose',
      containerImage: 'torecluik/w_nucleisegmentation-cellpose',
      containerType: 'singularity',
    });
    expect(d.parameters.map((p) => [p.name, p.type, p.default])).toEqual([
      ['diameter', 'integer', 0],
      ['prob_threshold', 'float', 0], // written 0.0: a float, as Python reads it
      ['nuc_channel', 'integer', 0],
      ['use_gpu', 'boolean', true],
      ['model_type', 'string', 'nuclei'],
      ['output_suffix', 'string', null],
    ]);
    expect(d.parameters.find((p) => p.name === 'model_type')).toMatchObject({
      choices: ['nuclei', 'cyto', 'cyto2'],
      commandLineFlag: '--model_type',
      optional: true,
    });
    expect(d.schema.required).toEqual(['output_suffix']);
  });

  it('reads a biomero-0.1 descriptor from a cache laid out like the repository URL', async () => {
    const spot = (await catalogue.get('spotdetection'))!;
    expect(spot).toMatchObject({ versionTag: 'v0.2.0', descriptorPath: 'descriptor.json', descriptorError: null });
    expect(spot.sbatchOptions).toEqual([
      { flag: 'cpus-per-task', value: '4' },
      { flag: 'partition', value: 'gpu' },
    ]);
    const d = spot.descriptor!;
    expect(d).toMatchObject({ format: 'biomero-0.1', containerImage: 'nlbioimaging/w_spotdetection' });
    expect(d.parameters.map((p) => [p.name, p.type, p.default, p.optional])).toEqual([
      ['input_image', 'image', null, false],
      ['sigma', 'float', 1.5, true],
      ['threshold', 'integer', 120, true],
      ['method', 'string', 'log', true],
      ['mask', 'file', null, true],
    ]);
  });

  it('says why a descriptor is missing or broken instead of failing the list', async () => {
    const all = await catalogue.list();
    expect(all.find((w) => w.name === 'deconvolution')).toMatchObject({ descriptor: null, descriptorError: 'descriptor not found in the descriptor folder' });
    expect(all.find((w) => w.name === 'stardist')!.descriptorError).toMatch(/^stardist\.json: descriptor is not valid JSON/);
  });

  it('is empty without a config file, and fails loudly on an unreadable one', async () => {
    expect(await new WorkflowCatalogue({ configFile: null, descriptorsDir: null }).list()).toEqual([]);
    await expect(new WorkflowCatalogue({ configFile: join(FIXTURES, 'missing.ini'), descriptorsDir: null }).list()).rejects.toThrow(/ENOENT/);
  });
});

describe('the JSON Schema of the parameters', () => {
  const ajv = new Ajv2020({ strict: true, allErrors: true });

  it('is a valid draft 2020-12 schema for every descriptor, and accepts its own defaults', async () => {
    const withDescriptor = (await catalogue.list()).filter((w) => w.descriptor);
    expect(withDescriptor.length).toBe(2);
    for (const w of withDescriptor) {
      const schema = w.descriptor!.schema;
      expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(ajv.validateSchema(schema)).toBe(true);
      const validate = ajv.compile(schema);
      const defaults = Object.fromEntries(w.descriptor!.parameters.filter((p) => p.default !== null).map((p) => [p.name, p.default]));
      const required = Object.fromEntries((schema.required as string[]).map((name) => [name, 'x']));
      expect(validate({ ...defaults, ...required })).toBe(true);
    }
  });

  it('rejects wrong types, values outside the choices, unknown and missing parameters', async () => {
    const validate = ajv.compile((await catalogue.get('cellpose'))!.descriptor!.schema);
    expect(validate({ output_suffix: '_m', diameter: 1.5 })).toBe(false); // integer
    expect(validate({ output_suffix: '_m', model_type: 'tissuenet' })).toBe(false);
    expect(validate({ output_suffix: '_m', use_gpu: 'yes' })).toBe(false);
    expect(validate({ output_suffix: '_m', cytomine_host: 'x' })).toBe(false); // hidden, so unknown
    expect(validate({ diameter: 3 })).toBe(false); // output_suffix missing
    expect(validate({ output_suffix: '_m', diameter: 3, prob_threshold: 0.5 })).toBe(true);
  });

  it('refuses descriptors of other formats', () => {
    expect(() => parseDescriptor('{"docker_image": "x"}')).toThrow(DescriptorError);
    expect(() => parseDescriptor('[]')).toThrow(DescriptorError);
  });
});
