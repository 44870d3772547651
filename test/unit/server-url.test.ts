import { describe, expect, it } from '@jest/globals';
import { serverUrlOf } from '../../shared/github/server-url';

describe('the GitHub a runner registers at, from the API the functions use', () => {
  it.each([
    ['https://api.github.com', 'https://github.com'],
    ['https://api.github.com/', 'https://github.com'],
    ['https://ghes.example.com/api/v3', 'https://ghes.example.com'],
    ['https://ghes.example.com:8443/api/v3/', 'https://ghes.example.com:8443'],
    ['https://api.octocorp.ghe.com', 'https://octocorp.ghe.com'],
  ])('%s → %s', (apiUrl, serverUrl) => {
    expect(serverUrlOf(apiUrl)).toBe(serverUrl);
  });
});
