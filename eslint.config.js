// The design's fences as lint rules (`npm run lint`, run by CI before the tests):
// - only agent/readers/ spawns processes, starts threads or loads FFI, however it is spelled:
//   a static import, `import()`, `require()` or `createRequire(...)('koffi')`, `process.dlopen`;
//   outside it one module may load FFI (and nothing else of these): LIBC_MODULE, libc calls the
//   agent's main thread makes (the buffer folder's flock); and one module may start threads (and
//   nothing else of these): BCRYPT_MODULE, password checks kept off the main thread;
// - shared/ is pure: nothing from agent/, no file, process, thread or network I/O.
// No type information is needed, so the TypeScript parser runs without a project (fast).
import tsParser from '@typescript-eslint/parser';

/** Modules that spawn processes, run threads or load native code. */
const PROCESS_MODULES = ['child_process', 'worker_threads', 'koffi'];
/** I/O modules shared/ must not use (node:net stays allowed for its pure isIP()). */
const IO_MODULES = ['fs', 'fs/promises', 'http', 'https', 'got', 'pino'];

const FENCE = 'only agent/readers/ spawns processes, starts threads or loads FFI (and agent/system/libc.ts calls libc, agent/system/bcrypt.ts runs bcrypt threads)';
/** The one module outside agent/readers/ allowed to load FFI. */
const LIBC_MODULE = 'agent/system/libc.ts';
const SPAWN_MODULES = PROCESS_MODULES.filter((name) => name !== 'koffi');
/** The one module outside agent/readers/ allowed to start threads (bcrypt off the main thread). */
const BCRYPT_MODULE = 'agent/system/bcrypt.ts';
const NON_THREAD_MODULES = PROCESS_MODULES.filter((name) => name !== 'worker_threads');
const PURE = 'shared/ is pure: I/O belongs in agent/';

/** The names as imported: bare, and with the node: prefix for the built-ins. */
const spellings = (modules) => modules.flatMap((name) => (name === 'koffi' || name === 'got' || name === 'pino' ? [name] : [name, `node:${name}`]));
const restrictedPaths = (modules, message) => spellings(modules).map((name) => ({ name, message }));
/** A string literal naming one of `modules`, for the selectors below. */
// esquery's regex literal cannot hold a slash: "." stands for the one in fs/promises.
const literalOf = (modules) => `/^(node:)?(${modules.join('|').replace(/\//g, '.')})$/`;

/** What no-restricted-imports cannot see: import(), require() and createRequire(...)(...) of `modules`. */
function restrictedSyntax(modules, message) {
  const literal = literalOf(modules);
  return [
    { selector: `ImportExpression[source.value=${literal}]`, message },
    { selector: `CallExpression[callee.name='require'][arguments.0.value=${literal}]`, message },
    { selector: `CallExpression[callee.type='CallExpression'][callee.callee.name='createRequire'][arguments.0.value=${literal}]`, message },
  ];
}
/** Node's own way to load a native library. */
const DLOPEN = { selector: "MemberExpression[object.name='process'][property.name='dlopen']", message: FENCE };

const AGENT_IMPORT = { regex: '(^|/)agent(/|$)', message: 'shared/ must never import from agent/' };

export default [
  { ignores: ['dist/', 'node_modules/'] },
  {
    files: ['agent/**/*.ts', 'shared/**/*.ts'],
    languageOptions: { parser: tsParser, ecmaVersion: 2022, sourceType: 'module' },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'no-restricted-imports': ['error', { paths: restrictedPaths(PROCESS_MODULES, FENCE) }],
      'no-restricted-syntax': ['error', ...restrictedSyntax(PROCESS_MODULES, FENCE), DLOPEN],
    },
  },
  {
    // The readers are the one place allowed to spawn and to load FFI.
    files: ['agent/readers/**/*.ts'],
    rules: { 'no-restricted-imports': 'off', 'no-restricted-syntax': 'off' },
  },
  {
    // The libc module loads koffi, and still spawns nothing and starts no thread.
    files: [LIBC_MODULE],
    rules: {
      'no-restricted-imports': ['error', { paths: restrictedPaths(SPAWN_MODULES, FENCE) }],
      'no-restricted-syntax': ['error', ...restrictedSyntax(SPAWN_MODULES, FENCE), DLOPEN],
    },
  },
  {
    // The bcrypt module starts worker threads for password checks, and spawns nothing and loads no FFI.
    files: [BCRYPT_MODULE],
    rules: {
      'no-restricted-imports': ['error', { paths: restrictedPaths(NON_THREAD_MODULES, FENCE) }],
      'no-restricted-syntax': ['error', ...restrictedSyntax(NON_THREAD_MODULES, FENCE), DLOPEN],
    },
  },
  {
    // Replaces the rules above for shared/ (a later object's options win), so it repeats the fence.
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [...restrictedPaths(PROCESS_MODULES, FENCE), ...restrictedPaths(IO_MODULES, PURE)],
        patterns: [AGENT_IMPORT],
      }],
      'no-restricted-syntax': ['error', ...restrictedSyntax(PROCESS_MODULES, FENCE), DLOPEN, ...restrictedSyntax(IO_MODULES, PURE)],
    },
  },
];
