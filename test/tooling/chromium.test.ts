/**
 * How the suite finds its browser (test/helpers/chromium.ts): the Chromium npm installs works on this machine
 * whatever the system has, and a wrong setting fails with a sentence. Run once, in the PGlite run.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describeIn } from '../helpers/engine.js';
import { browserChoice, findChromium, launchChromium } from '../helpers/chromium.js';

describeIn('pglite')('the suite\'s Chromium (test/helpers/chromium.ts)', function () {
  this.timeout(90_000);

  it('NORI_TEST_BROWSER=npm runs the Chromium inside @sparticuz/chromium, with its own libraries and fonts, and it renders', async () => {
    const { version } = JSON.parse(readFileSync('node_modules/@sparticuz/chromium/package.json', 'utf8')) as { version: string };
    const { browser, binary } = await launchChromium({ NORI_TEST_BROWSER: 'npm' });
    try {
      assert.equal(binary.source, `@sparticuz/chromium ${version}`);
      assert.match(binary.executablePath, /node_modules\/\.cache\/nori-chromium\//);
      assert.notEqual(binary.executablePath, '/usr/bin/chromium');
      assert.equal(browser.version().split('.')[0], version.split('.')[0], 'the browser is the package\'s build');
      const page = await browser.newPage();
      await page.setContent('<!doctype html><html lang="en"><body><h1 style="font-family: sans-serif">Sign-in</h1><button type="button" onclick="this.textContent = \'clicked\'">go</button></body></html>');
      await page.locator('button').click();
      assert.equal(await page.locator('button').textContent(), 'clicked');
      const box = await page.locator('h1').boundingBox();
      assert.ok(box && box.width > 20, `the heading was laid out with a font: ${JSON.stringify(box)}`);
    } finally {
      await browser.close();
    }
  });

  it('refuses a NORI_TEST_BROWSER it does not know, naming the ones there are', () => {
    assert.throws(() => browserChoice({ NORI_TEST_BROWSER: 'firefox' }), { message: 'NORI_TEST_BROWSER=firefox is not one of auto, system, npm' });
    assert.equal(browserChoice({}), 'auto');
  });

  it('refuses a CHROMIUM_PATH that is no executable file, naming it', async () => {
    await assert.rejects(findChromium({ CHROMIUM_PATH: '/nonexistent/chromium' }), { message: 'CHROMIUM_PATH=/nonexistent/chromium is not an executable file' });
  });

  it('takes the system\'s /usr/bin/chromium when asked and present, and otherwise says how to get one', async () => {
    const found = await findChromium({ NORI_TEST_BROWSER: 'system' }).then((b) => b.source, (e: Error) => e.message);
    assert.ok(
      found === "the system's /usr/bin/chromium" || found.startsWith('NORI_TEST_BROWSER=system and there is no Chromium at /usr/bin/chromium: apt-get install chromium'),
      found,
    );
  });
});
