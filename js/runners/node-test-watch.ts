// Imported first by an ES module that uses node:test when the ES module
// hooks run in their own thread (Node 20; js/hooks/esm-loader.ts): the main
// thread watches for node:test's tests before the module's body runs.
import { watchNodeTest } from './node-test';

watchNodeTest();
