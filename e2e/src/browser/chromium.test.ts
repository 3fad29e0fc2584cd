import { afterEach, describe, expect, it, vi } from 'vitest';
import { chromiumForTests, findChromium } from './chromium.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('finding chromium for the browser tests', () => {
  it('takes CHROMIUM_PATH when it names an executable', () => {
    expect(findChromium({ CHROMIUM_PATH: process.execPath })).toBe(process.execPath);
  });

  it('fails under CI when there is none, naming the install command', () => {
    expect(() => chromiumForTests({ CHROMIUM_PATH: '/nonexistent/chromium', CI: 'true' })).toThrow(
      /No chromium for the browser tests \(CHROMIUM_PATH=\/nonexistent\/chromium is not an executable\): install it: apt-get install -y chromium/,
    );
  });

  it('skips with a warning naming the install command outside CI', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(chromiumForTests({ CHROMIUM_PATH: '/nonexistent/chromium' })).toBeUndefined();
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/SKIPPING THE BROWSER TESTS.*apt-get install -y chromium/));
  });
});
