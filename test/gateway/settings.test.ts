import { gatewaySettingsFromEnv } from '../../gateway/settings';

describe('settings', () => {
  it('reads the environment and refuses a bad persisted-operations mode', () => {
    expect(gatewaySettingsFromEnv({ PERSISTED_OPERATIONS: 'trusted', RATE_LIMIT_PER_SECOND: '0' })).toMatchObject({
      persistedOperations: 'trusted',
      rateLimitPerSecond: 0,
    });
    expect(() => gatewaySettingsFromEnv({ PERSISTED_OPERATIONS: 'maybe' })).toThrow(/PERSISTED_OPERATIONS/);
  });
});
