/** cli: the `palmswitch` command, built from the modules' public faces. */
export { buildProgram } from './program.js';
