/** `node --import …/module-loads-register.js`: records the modules the process loads (module-loads-hooks.ts). */
import { register } from 'node:module';

register('./module-loads-hooks.js', import.meta.url);
