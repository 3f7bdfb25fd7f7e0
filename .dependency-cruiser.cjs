// The import direction between the project's packages, checked by `npm run depcheck` (part of
// `npm test`). The folder tree says it too:
//
//   mask-store   contract                  (import nothing of ours)
//        ↑  ↖      ↑   ↖
//   gpu-runner ──────┘   worker            (serving inference; the edge worker)
//        ↑                 client          (the SDK: contract + mask-store)
//     trainer                              (autodiff, optimisers, trainers, data, recipes)
//        ↑
//       cli  ← everything                  (the maskunet command, the local launcher)
//   test/, bench/ may import any package's public surface.
//
// Three kinds of rule: (1) a package reaches another only through that package's name and
// declared entry files (no relative paths into another package's folder, no deep imports);
// (2) a value import never points against the direction above (a `import type` of the
// contract is the one allowed exception, for shapes); (3) nothing browser-safe (the roots of
// mask-store, contract, gpu-runner and client) imports Node built-ins, native bindings, `ws`,
// or a Node-only module of its own package.

/** Entry files other packages may import (each package.json `exports`). */
const ENTRIES = [
  'mask-store/src/index\\.ts',
  'mask-store/src/node/index\\.ts',
  'contract/src/index\\.ts',
  'gpu-runner/src/index\\.ts',
  'gpu-runner/src/node\\.ts',
  'gpu-runner/src/web\\.ts',
  'gpu-runner/src/service/index\\.ts',
  'trainer/src/index\\.ts',
  'worker/src/index\\.ts',
  'client/src/index\\.ts',
  'cli/src/index\\.ts',
  'cli/src/local/index\\.ts',
];

const PACKAGES = ['mask-store', 'contract', 'gpu-runner', 'trainer', 'worker', 'client', 'cli'];

/** Packages each package may import values from (besides itself). */
const ALLOWED = {
  'mask-store': [],
  contract: [],
  'gpu-runner': ['mask-store', 'contract'],
  trainer: ['gpu-runner', 'mask-store', 'contract'],
  worker: ['mask-store', 'contract'],
  client: ['mask-store', 'contract'],
  cli: ['client', 'gpu-runner', 'trainer', 'mask-store', 'contract'],
};

/** Node-only modules inside browser-safe packages (reachable only through `/node` entries). */
const NODE_ONLY = [
  'mask-store/src/node/',
  'gpu-runner/src/node\\.ts',
  'gpu-runner/src/backends/node-backend\\.ts',
  'gpu-runner/src/onnx/model-file\\.ts',
  'gpu-runner/src/pipeline/model-dir\\.ts',
  // The runner service dials the worker with `ws` by default: a Node (or Deno/Bun) process, never
  // the web page, which runs the pipeline itself.
  'gpu-runner/src/service/',
];

const BROWSER_SAFE = '^(mask-store|contract|gpu-runner|client)/src/';

const crossPackage = PACKAGES.flatMap((from) =>
  PACKAGES.filter((to) => to !== from).map((to) => ({
    name: `entry-only:${from}->${to}`,
    severity: 'error',
    comment: `${from} reaches ${to} only through its declared entries (package.json exports)`,
    from: { path: `^${from}/` },
    to: { path: `^${to}/`, pathNot: `^(${ENTRIES.join('|')})$` },
  })),
);

const relativeCrossPackage = PACKAGES.map((from) => ({
  name: `by-name:${from}`,
  severity: 'error',
  comment: `${from} imports other packages by package name (@maskunet/...), never by relative path`,
  from: { path: `^${from}/` },
  to: {
    path: `^(${PACKAGES.filter((p) => p !== from).join('|')})/`,
    dependencyTypesNot: ['aliased-workspace'],
  },
}));

const direction = PACKAGES.map((from) => ({
  name: `direction:${from}`,
  severity: 'error',
  comment: `${from} may import values from ${ALLOWED[from].join(', ') || 'no other package'} only`,
  from: { path: `^${from}/` },
  to: {
    path: `^(${PACKAGES.filter((p) => p !== from && !ALLOWED[from].includes(p)).join('|')})/`,
    dependencyTypesNot: ['type-only'],
  },
}));

module.exports = {
  forbidden: [
    ...crossPackage,
    ...relativeCrossPackage,
    ...direction,
    {
      name: 'browser-safe:no-node-builtins',
      severity: 'error',
      comment: 'browser-safe modules import no Node built-ins',
      from: { path: BROWSER_SAFE, pathNot: `^(${NODE_ONLY.join('|')})` },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'browser-safe:no-node-packages',
      severity: 'error',
      comment: 'browser-safe modules import no native bindings or Node-only packages',
      from: { path: BROWSER_SAFE, pathNot: `^(${NODE_ONLY.join('|')})` },
      to: { path: 'node_modules/(onnxruntime-node|ws|tsx)/' },
    },
    {
      name: 'browser-safe:no-node-only-modules',
      severity: 'error',
      comment: "browser-safe modules never import their package's Node-only modules",
      from: { path: BROWSER_SAFE, pathNot: `^(${NODE_ONLY.join('|')})` },
      to: { path: `^(${NODE_ONLY.join('|')})` },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'modules do not import each other in a cycle',
      from: {},
      // A cycle through an `import type` is erased at compile time and allowed.
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Local state only: an `exclude` also drops dependencies *to* what it matches, so a broad
    // pattern (e.g. any `dist/`) would hide node_modules packages from the rules above.
    exclude: { path: '^(\\.state|\\.wrangler|worker/\\.wrangler)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    combinedDependencies: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.json'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
