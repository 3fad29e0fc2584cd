import { describe, expect, it } from 'vitest';
import { createDestinationGuard, DestinationRefusedError, isNonPublicAddress } from './destination-guard.ts';

describe('isNonPublicAddress', () => {
  it.each([
    '127.0.0.1', '127.9.9.9', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254',
    '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1',
    'ff02::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:a9fe:a9fe',
  ])('refuses %s', (address) => {
    expect(isNonPublicAddress(address)).toBe(true);
  });

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])(
    'lets %s through',
    (address) => {
      expect(isNonPublicAddress(address)).toBe(false);
    },
  );
});

describe('createDestinationGuard', () => {
  it('refuses a non-public IP literal with a message that says how to allow it', () => {
    const guard = createDestinationGuard({ allowedHosts: [] });
    expect(() => guard.connectOptions(new URL('http://169.254.169.254/latest/meta-data'))).toThrow(DestinationRefusedError);
    expect(() => guard.connectOptions(new URL('http://[::1]:8080/'))).toThrow(/WEBHOOK_ALLOWED_HOSTS/);
  });

  it('lets allowed hosts through without any check', () => {
    const guard = createDestinationGuard({ allowedHosts: ['127.0.0.1', '::1', 'localhost'] });
    expect(guard.connectOptions(new URL('http://127.0.0.1:9/'))).toEqual({});
    expect(guard.connectOptions(new URL('http://[::1]:9/'))).toEqual({});
    expect(guard.connectOptions(new URL('http://LOCALHOST:9/'))).toEqual({});
  });

  it('checks the addresses a hostname resolves to, inside the connection lookup', async () => {
    const guard = createDestinationGuard({ allowedHosts: [] });
    const { lookup } = guard.connectOptions(new URL('http://localhost:9/'));
    expect(lookup).toBeTypeOf('function');
    const error = await new Promise<Error | null>((resolve) => lookup!('localhost', { all: true }, (err) => resolve(err)));
    expect(error).toBeInstanceOf(DestinationRefusedError);
    expect(error?.message).toMatch(/localhost resolves to (127\.0\.0\.1|::1)/);
  });
});
