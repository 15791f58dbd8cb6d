import { sessionKeyFromCookie } from '../../gateway/sessions';

describe('session cookie', () => {
  it('finds the named cookie; absent or empty is anonymous, malformed is kept (and then refused)', () => {
    expect(sessionKeyFromCookie('a=1; omero_graph_session=abc-123', 'omero_graph_session')).toBe('abc-123');
    expect(sessionKeyFromCookie('omero_graph_session="quoted"', 'omero_graph_session')).toBe('quoted');
    expect(sessionKeyFromCookie('a=1', 'omero_graph_session')).toBeNull();
    expect(sessionKeyFromCookie('omero_graph_session=', 'omero_graph_session')).toBeNull();
    expect(sessionKeyFromCookie('omero_graph_session=%E0%A4%A', 'omero_graph_session')).toBe('%E0%A4%A');
  });
});
