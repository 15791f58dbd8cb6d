import { traceFrom, traceparent } from '../../../subgraphs/common/tracing';

describe('W3C traceparent', () => {
  it('continues a valid one and starts a new trace for an invalid one', () => {
    expect(traceFrom('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentSpanId: '00f067aa0ba902b7',
      sampled: true,
    });
    const fresh = traceFrom('00-00000000000000000000000000000000-00f067aa0ba902b7-01');
    expect(fresh.parentSpanId).toBeUndefined();
    expect(fresh.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceparent('4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7')).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
  });
});
