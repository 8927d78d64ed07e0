/**
 * The import table of ARCHITECTURE.md, enforced (`npm run lint:deps`, part of `npm test`).
 * Test files follow the rules of the folder they live in; `test/` and `scripts/` may import anything.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'protocol-is-pure',
      comment: 'protocol/ holds schemas, encoding and signing only: it imports libraries, never engine/, node/, hub/, scripts/ or test/, and does no file or network I/O.',
      severity: 'error',
      from: { path: '^protocol/' },
      to: { pathNot: ['^protocol/', '^node_modules/', '^test/helpers/'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'protocol-no-io',
      comment: 'protocol/ does no I/O: no fs, net, http, child_process or worker threads (node:crypto for randomness is allowed).',
      severity: 'error',
      from: { path: '^protocol/', pathNot: '\\.test\\.ts$' },
      to: { dependencyTypes: ['core'], path: '^(node:)?(fs|fs/promises|net|http|https|http2|dgram|child_process|worker_threads|cluster|tls|dns)$' },
    },
    {
      name: 'engine-uses-protocol-only',
      comment: 'engine/ is the shared runtime: it may import protocol/ and libraries, never node/, hub/, bin/, scripts/ or test/.',
      severity: 'error',
      from: { path: '^engine/' },
      to: { path: '^(node|hub|bin|scripts|test)/', pathNot: '^test/helpers/' },
    },
    {
      name: 'test-helpers-only-in-tests',
      comment: 'test/helpers/ (real nats-server launcher, clusters, fixtures) is for tests: shipped code never imports it.',
      severity: 'error',
      from: { path: '^(protocol|engine|node|hub|bin)/', pathNot: '\\.test\\.ts$' },
      to: { path: '^test/' },
    },
    {
      name: 'node-not-hub',
      comment: 'node/ and hub/ never import each other (nor bin/, scripts/, test/).',
      severity: 'error',
      from: { path: '^node/' },
      to: { path: '^(hub|bin|scripts|test)/', pathNot: '^test/helpers/' },
    },
    {
      name: 'hub-not-node',
      comment: 'hub/ and node/ never import each other (nor bin/, scripts/, test/).',
      severity: 'error',
      from: { path: '^hub/' },
      to: { path: '^(node|bin|scripts|test)/', pathNot: '^test/helpers/' },
    },
    {
      name: 'domain-not-nats',
      comment:
        'Domain code (node/{catalog,sharing,packages,staging}, hub/{catalog,sharing,packages}) never sees NATS: no @nats-io import and no engine/nats/ (the link). It receives small interfaces it owns (Forwarder, PackageChunkSink/Source, HubLink); nats.js implementations live in node/bus/ and hub/bus/. No exceptions.',
      severity: 'error',
      from: { path: '^(node|hub)/(catalog|sharing|packages|staging)/' },
      to: { path: ['^node_modules/@nats-io/', '^engine/nats/'] },
    },
    {
      name: 'no-circular',
      comment: 'Runtime module cycles hide the layering; break them with an interface the user owns. A cycle closed only by `import type` is erased at compile time and allowed.',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // node_modules is not followed but kept as leaves, so rules can name packages (domain-not-nats).
    exclude: { path: '^(tools|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.mjs', '.js', '.json'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
