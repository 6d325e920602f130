// The one-way layering of HSwarm, checked in CI:
//   server/core  the algorithm: pure and deterministic, imports nothing else of the project and no I/O
//   server/llm   backends and the generation cache: imports only server/core
//   app/, components/  the browser side: reach the server only through the tRPC client types
//                      (plus server/core/config, the zod schema of a run's hyperparameters);
//                      route handlers under app/api/ run on the server and may import it
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "core-is-self-contained",
      comment: "server/core must not import the rest of the server",
      severity: "error",
      from: { path: "^server/core/" },
      to: { path: "^(server/(?!core/)|app/|components/|generated/)" },
    },
    {
      name: "core-has-no-io-or-frameworks",
      comment: "server/core is pure: no Node I/O modules, React or Prisma",
      severity: "error",
      from: { path: "^server/core/" },
      to: {
        path: "(^|/)node_modules/(react|react-dom|next|@prisma|pg|pg-boss|openai|pino)/|^(fs|net|http|https|child_process|worker_threads|crypto|os|path)$",
        dependencyTypesNot: ["type-only"],
      },
    },
    {
      name: "core-has-no-node-builtins",
      severity: "error",
      from: { path: "^server/core/" },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "llm-depends-only-on-core",
      severity: "error",
      from: { path: "^server/llm/" },
      to: { path: "^(server/(?!core/|llm/)|app/|components/)" },
    },
    {
      name: "browser-reaches-server-through-trpc",
      comment:
        "app/ and components/ may import the tRPC router type, and the pure search-configuration schema so that the run form validates with the same rules as the server",
      severity: "error",
      from: { path: "^(app|components)/", pathNot: "^app/api/" },
      to: { path: "^server/(?!trpc/|core/config\\.ts$)" },
    },
    {
      name: "no-circular",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(node_modules|generated|\\.next)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".tsx", ".js", ".mjs"] },
  },
};
