import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhookSignature } from './webhook-signature.ts';

describe('webhook signatures', () => {
  const body = JSON.stringify({ event: 'invoice.paid', payload: { id: 1 } });

  it('verifies a signature made with the same secret', () => {
    const header = signWebhook('s3cret', body, 1_700_000_000);
    expect(header).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature('s3cret', header, body, { nowSec: 1_700_000_010 })).toBe(true);
  });

  it('detects a tampered body, another secret, a stale timestamp and garbage', () => {
    const header = signWebhook('s3cret', body, 1_700_000_000);
    const now = { nowSec: 1_700_000_000 };
    expect(verifyWebhookSignature('s3cret', header, body.replace('1', '2'), now)).toBe(false);
    expect(verifyWebhookSignature('other', header, body, now)).toBe(false);
    expect(verifyWebhookSignature('s3cret', header, body, { nowSec: 1_700_001_000 })).toBe(false);
    expect(verifyWebhookSignature('s3cret', 't=1,v1=zz', body, now)).toBe(false);
    expect(verifyWebhookSignature('s3cret', undefined, body, now)).toBe(false);
  });
});
