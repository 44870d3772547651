import { createHash, createHmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Checksum, SourceData } from '@smithy/types';
import { CALL_TIMEOUT_MS } from '../call-timeout';
import { IpSetChangedError, type IpSetRef, type IpSets } from './hook-ranges';

/** SHA-256, or HMAC-SHA-256 with a secret, as SigV4's signer asks for it. */
class Sha256 implements Checksum {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {}
}

const toBuffer = (data: SourceData): Buffer =>
  typeof data === 'string'
    ? Buffer.from(data, 'utf8')
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);

/** A WAF answer that is not a success: `__type` names it (`WAFOptimisticLockException`, …). */
export class WafError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status: number,
  ) {
    super(`WAF ${type}: ${message}`);
    this.name = 'WafError';
  }
}

/**
 * The WAF adapter of {@link IpSets}: `GetIPSet` and `UpdateIPSet` over WAF's JSON protocol, signed
 * with SigV4 and the functions' usual credential chain. Two calls do not justify another SDK client
 * in the bundle (`@aws-sdk/client-wafv2` speaks the same requests). `AWS_ENDPOINT_URL_WAFV2`, the
 * SDK's own endpoint setting, points it elsewhere (the tests' stand-in).
 */
export function createWafIpSets(options: { readonly region: string; readonly endpoint?: string }): IpSets {
  const endpoint = new URL(options.endpoint ?? `https://wafv2.${options.region}.amazonaws.com/`);
  const signer = new SignatureV4({
    service: 'wafv2',
    region: options.region,
    credentials: defaultProvider(),
    sha256: Sha256,
  });
  const call = async (
    operation: string,
    input: Record<string, unknown>,
  ): Promise<Record<string, unknown>> => {
    const body = JSON.stringify(input);
    const signed = await signer.sign({
      method: 'POST',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      ...(endpoint.port !== '' && { port: Number(endpoint.port) }),
      path: endpoint.pathname,
      query: {},
      headers: {
        host: endpoint.host,
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': `AWSWAF_20190729.${operation}`,
      },
      body,
    });
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: signed.headers,
      body,
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    const text = await response.text();
    const answer = (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
    if (!response.ok) {
      const type = String(answer.__type ?? response.headers.get('x-amzn-errortype') ?? 'UnknownError')
        .split('#')
        .pop()
        ?.split(':')[0] as string;
      const message = String(answer.message ?? answer.Message ?? response.statusText);
      if (type === 'WAFOptimisticLockException') throw new IpSetChangedError(message);
      throw new WafError(type, message, response.status);
    }
    return answer;
  };
  const key = (ref: IpSetRef) => ({ Name: ref.name, Id: ref.id, Scope: ref.scope });
  return {
    async read(ref) {
      const answer = (await call('GetIPSet', key(ref))) as {
        IPSet?: { Addresses?: string[] };
        LockToken?: string;
      };
      return { addresses: answer.IPSet?.Addresses ?? [], lockToken: answer.LockToken ?? '' };
    },
    async write(ref, addresses, lockToken) {
      await call('UpdateIPSet', { ...key(ref), Addresses: addresses, LockToken: lockToken });
    },
  };
}
