import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { CHROMIUM, debianTool } from "./debian-packages";

/** Where browser tests leave their screenshots (gitignored): the run's artifacts. */
export const ARTIFACTS_DIR = join(__dirname, "..", "..", "test-artifacts");

/**
 * Debian's chromium (CHROMIUM_PATH overrides): found, or installed with apt-get; if neither
 * works, a failure that names the package, never a skipped test. playwright-core drives it;
 * `playwright install` (a download) is never used.
 */
/**
 * How long a browser test may take. Chromium, a test stack and a second suite share our two
 * cores; under that load one page of Monaco has needed more than Jest's 30 s (a CI run). A
 * timeout is no assertion of speed, only where a hung test gives up, so browser suites get
 * room: `jest.setTimeout(BROWSER_TEST_TIMEOUT_MS)`, and each page waits up to half of it.
 */
export const BROWSER_TEST_TIMEOUT_MS = 120_000;
const PAGE_TIMEOUT_MS = BROWSER_TEST_TIMEOUT_MS / 2;

export const chromiumPath = (): string => process.env.CHROMIUM_PATH ?? debianTool(CHROMIUM);

export type TestBrowser = {
  browser: Browser;
  /**
   * A fresh context whose requests may go to loopback only: anything else is aborted and
   * recorded in `blocked`, so a page that needs the internet fails its test.
   */
  context(options?: Parameters<Browser["newContext"]>[0]): Promise<BrowserContext & { blocked: string[] }>;
  close(): Promise<void>;
};

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

export function isLoopbackUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === "data:" || parsed.protocol === "blob:" || parsed.protocol === "about:") return true;
    return LOOPBACK.has(parsed.hostname) || parsed.hostname.endsWith(".localhost");
  } catch {
    return false;
  }
}

export async function launchChromium(): Promise<TestBrowser> {
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // Root in CI: Chromium's sandbox needs an unprivileged user. No GPU on our machines. No
    // background traffic: our machines have no internet, and Chromium's own lookups of
    // Google's hosts would fail (or be refused) at every start.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    browser,
    async context(options) {
      const context = (await browser.newContext(options)) as BrowserContext & { blocked: string[] };
      context.blocked = [];
      context.setDefaultTimeout(PAGE_TIMEOUT_MS);
      await context.route("**/*", (route) => {
        const url = route.request().url();
        if (isLoopbackUrl(url)) return route.continue();
        context.blocked.push(url);
        return route.abort("blockedbyclient");
      });
      return context;
    },
    close: () => browser.close(),
  };
}

/** Saves a full-page screenshot under test-artifacts/ and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
