import { describe, expect, it } from '@jest/globals';
import { sign } from '@octokit/webhooks-methods';
import { BadRequestError, UnauthorizedError } from '../../shared/errors';
import { verifySignature } from '../../shared/webhook/signature';

const body = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });

describe('verifySignature', () => {
  it('accepts a body signed with the current secret', async () => {
    await expect(
      verifySignature(['current'], body, { 'x-hub-signature-256': await sign('current', body) }),
    ).resolves.toBeUndefined();
  });

  it('accepts a body signed with the previous secret during a rotation', async () => {
    await expect(
      verifySignature(['current', 'previous'], body, { 'x-hub-signature-256': await sign('previous', body) }),
    ).resolves.toBeUndefined();
  });

  it('refuses the previous secret once the rotation is over', async () => {
    await expect(
      verifySignature(['current'], body, { 'x-hub-signature-256': await sign('previous', body) }),
    ).rejects.toThrow(UnauthorizedError);
  });

  it('refuses a signature over another body', async () => {
    const signature = await sign('current', `${body} `);
    await expect(verifySignature(['current'], body, { 'x-hub-signature-256': signature })).rejects.toThrow(
      'does not match',
    );
  });

  it('refuses a missing signature, telling the operator to set a secret', async () => {
    await expect(verifySignature(['current'], body, {})).rejects.toThrow('set a secret on the webhook');
  });

  it('refuses a delivery signed only with SHA-1', async () => {
    await expect(verifySignature(['current'], body, { 'x-hub-signature': 'sha1=abc' })).rejects.toThrow(
      'SHA-1',
    );
  });

  it.each(['sha256=xyz', 'sha1=0000', `sha256=${'A'.repeat(64)}`, 'garbage'])(
    'refuses the malformed signature %s',
    async (sig) => {
      await expect(verifySignature(['current'], body, { 'x-hub-signature-256': sig })).rejects.toThrow(
        'malformed',
      );
    },
  );

  it('answers an empty body as a bad request', async () => {
    await expect(
      verifySignature(['current'], '', { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` }),
    ).rejects.toThrow(BadRequestError);
  });
});
