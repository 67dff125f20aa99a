/**
 * Debian's Chromium driven by playwright-core, as the machine notes prescribe: the system binary, headless, no
 * sandbox (root), no background networking (the machine's network is closed), a fresh profile per launch. Every
 * page records its console errors, failed requests and any request that leaves the server under test.
 */
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';

export const CHROMIUM = process.env.SECLAKE_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts/dashboard');

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface PageLog {
  consoleErrors: string[];
  failedRequests: string[];
  /** Requests to anything but the server under test. */
  externalRequests: string[];
  /** HTTP responses with status >= 400 (other than those a test expects). */
  badResponses: string[];
}

export interface TestBrowser {
  browser: Browser;
  context: BrowserContext;
  /** A new page whose problems are collected in `log`. */
  newPage(origin: string): Promise<{ page: Page; log: PageLog }>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(path.join(tmpdir(), 'seclake-chromium-'));
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1440, height: 900 },
      deviceScaleFactor: 1,
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  const ctx = context;
  return {
    browser: ctx.browser()!,
    context: ctx,
    async newPage(origin: string) {
      const page = await ctx.newPage();
      const log: PageLog = { consoleErrors: [], failedRequests: [], externalRequests: [], badResponses: [] };
      page.on('console', (m) => {
        if (m.type() === 'error') log.consoleErrors.push(m.text());
      });
      page.on('pageerror', (e) => log.consoleErrors.push(`pageerror: ${e.message}`));
      page.on('request', (r) => {
        const u = r.url();
        if (!u.startsWith(origin) && !u.startsWith('data:') && u !== 'about:blank') log.externalRequests.push(u);
      });
      page.on('requestfailed', (r) => log.failedRequests.push(`${r.url()}: ${r.failure()?.errorText ?? '?'}`));
      page.on('response', (r) => {
        if (r.status() >= 400) log.badResponses.push(`${r.status()} ${r.url()}`);
      });
      return { page, log };
    },
    async close() {
      await ctx.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** A screenshot of one element (e.g. the query box with its result). */
export async function screenshotOf(el: Locator, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await el.screenshot({ path: file });
  return file;
}
