import { IniError, parseIni } from '../../../../subgraphs/workflows/catalogue/ini';

describe('the slurm-config.ini parser', () => {
  it('reads sections, both separators, comments, lower-cased keys, later duplicates winning', () => {
    const ini = parseIni(
      '\uFEFF# head\n[SSH]\nHost = slurm\n; note\n[MODELS]\ncellpose=cellpose\ncellpose_job_gres : gpu:1g.10gb:1\ncellpose = again\n\n[SSH]\ninline_ssh_env=True\n',
    );
    expect([...ini.keys()]).toEqual(['SSH', 'MODELS']);
    expect(Object.fromEntries(ini.get('SSH')!)).toEqual({ host: 'slurm', inline_ssh_env: 'True' });
    expect(Object.fromEntries(ini.get('MODELS')!)).toEqual({ cellpose: 'again', cellpose_job_gres: 'gpu:1g.10gb:1' });
  });

  it('keeps values with = and : and inline text, joins continuation lines, handles CRLF', () => {
    const ini = parseIni('[S]\nurl = https://x.org/a?b=c\r\nlist = one\r\n  two\r\nempty =\r\n');
    expect(Object.fromEntries(ini.get('S')!)).toEqual({ url: 'https://x.org/a?b=c', list: 'one\ntwo', empty: '' });
  });

  it('refuses a key before any section and a line that is neither', () => {
    expect(() => parseIni('key = v\n')).toThrow(IniError);
    expect(() => parseIni('[S]\njust words\n')).toThrow(/line 2/);
  });
});
