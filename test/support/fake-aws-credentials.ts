/** Fake credentials and a region: enough for the real SDK to sign requests to a loopback stand-in. */
export const FAKE_AWS_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: 'AKIDTEST',
  AWS_SECRET_ACCESS_KEY: 'test-secret-key',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
} as const;
