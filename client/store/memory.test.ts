import { memoryStore } from './memory.js';
import { runClientStoreSuite } from './store.case.js';

runClientStoreSuite('memory', async () => ({ store: memoryStore() }));
