/**
 * Root hooks: drops every PostgreSQL schema this run created, so parallel runs and leftovers never collide.
 */
import { dropTestSchemas } from './helpers/engine.js';

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await dropTestSchemas();
  },
};
