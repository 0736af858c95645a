// Sealing lives in crypto/ so identity sources can share it without importing http/.
export { createSealer, type Sealer } from '../crypto/sealer.js';
