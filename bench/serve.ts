/** `nori serve` from the sources (through tsx), for the load run's server process: no build needed. */
import { main } from '../src/cli/main.js';

process.exitCode = await main(['serve']);
