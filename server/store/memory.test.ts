import { memoryStore } from './memory.js';
import { runStoreSuite } from './store.case.js';

runStoreSuite('memory', async () => memoryStore());
